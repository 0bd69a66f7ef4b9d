// leakmap report: filters, search, sorting and pagination, all offline.
// Captured data is only ever read from the DOM (attributes, textContent) and written back
// with textContent or class changes; nothing here builds markup or selectors from it.
(function () {
  "use strict";
  var RANK = { "": 0, low: 1, medium: 2, high: 3, special: 4 };
  var state = { app: "", company: "", type: "", sens: 0, q: "" };
  var filtered = Array.prototype.slice.call(document.querySelectorAll("[data-f]"));
  var cells = Array.prototype.slice.call(document.querySelectorAll("td[data-cell]"));
  // Each data type badge in a matrix cell follows the type and sensitivity filters too, so a
  // cell shows only what the filters let through (its colour is its highest sensitivity).
  var cellBadges = Array.prototype.slice.call(document.querySelectorAll("td[data-cell] .badge"));
  var groups = Array.prototype.slice.call(document.querySelectorAll(".fgroup"));
  var paged = Array.prototype.slice.call(document.querySelectorAll("table[data-page]"));
  var textCache = new WeakMap();

  function text(el) {
    var t = textCache.get(el);
    if (t === undefined) { t = el.textContent.toLowerCase(); textCache.set(el, t); }
    return t;
  }

  function passes(el, withText) {
    var a = el.getAttribute("data-app"), c = el.getAttribute("data-company");
    var types = el.getAttribute("data-types"), sens = el.getAttribute("data-sens");
    if (state.app && a !== null && a !== state.app) return false;
    if (state.company && c !== null && c !== state.company) return false;
    if (state.type && types !== null && types.split(" ").indexOf(state.type) < 0) return false;
    if (state.sens && sens !== null && Number(sens) < state.sens) return false;
    if (withText && state.q && el.hasAttribute("data-s") && text(el).indexOf(state.q) < 0) return false;
    return true;
  }

  function apply() {
    // Counted in findings, the unit of the header's total: each row of the findings table is
    // one app, receiver and data type, and data-count says how many findings it stands for.
    var shown = 0, total = 0, rowsShown = 0;
    filtered.forEach(function (el) {
      var ok = passes(el, true);
      el.classList.toggle("fout", !ok);
      if (el.hasAttribute("data-count")) {
        var n = Number(el.getAttribute("data-count")) || 1;
        total += n;
        if (ok) { shown += n; rowsShown++; }
      }
    });
    cells.forEach(function (el) { el.classList.toggle("dim", !passes(el, false)); });
    cellBadges.forEach(function (b) {
      var level = (b.className.match(/b-(\w+)/) || [])[1] || "";
      var hide = (state.sens && (RANK[level] || 0) < state.sens) || (state.type && b.textContent !== state.type);
      b.classList.toggle("fout", !!hide);
    });
    groups.forEach(function (g) {
      var items = g.querySelectorAll("[data-f]");
      if (!items.length) return;
      var any = false;
      for (var i = 0; i < items.length && !any; i++) any = !items[i].classList.contains("fout");
      g.classList.toggle("fout", !any);
    });
    paged.forEach(function (t) { t.page = 0; paginate(t); });
    var status = document.getElementById("filter-status");
    if (status) status.textContent = shown + " of " + total + " findings shown (" + rowsShown + " rows)";
  }

  function paginate(table) {
    var size = Number(table.getAttribute("data-page")) || 100;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows).filter(function (r) {
      return !r.classList.contains("fout");
    });
    var pages = Math.max(1, Math.ceil(rows.length / size));
    table.page = Math.min(Math.max(table.page || 0, 0), pages - 1);
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) { r.hidden = true; });
    rows.slice(table.page * size, (table.page + 1) * size).forEach(function (r) { r.hidden = false; });
    var pager = table.nextElementSibling;
    if (pager && pager.classList.contains("pager")) {
      pager.querySelector(".info").textContent = rows.length
        ? "rows " + (table.page * size + 1) + "–" + Math.min(rows.length, (table.page + 1) * size) + " of " + rows.length
        : "no rows match";
      pager.querySelector(".prev").disabled = table.page === 0;
      pager.querySelector(".next").disabled = table.page >= pages - 1;
    }
  }

  function makePager(table) {
    var pager = document.createElement("div");
    pager.className = "pager";
    var prev = document.createElement("button"), next = document.createElement("button");
    var info = document.createElement("span");
    prev.type = next.type = "button";
    prev.className = "prev"; next.className = "next"; info.className = "info";
    prev.textContent = "‹ previous"; next.textContent = "next ›";
    prev.addEventListener("click", function () { table.page--; paginate(table); });
    next.addEventListener("click", function () { table.page++; paginate(table); });
    pager.appendChild(prev); pager.appendChild(info); pager.appendChild(next);
    table.parentNode.insertBefore(pager, table.nextSibling);
  }

  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var desc = th.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", desc ? "descending" : "ascending");
    var keyed = Array.prototype.map.call(body.rows, function (row) {
      var cell = row.cells[index];
      var raw = cell ? (cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim()) : "";
      var num = raw !== "" && !isNaN(Number(raw)) ? Number(raw) : null;
      return { row: row, num: num, str: raw.toLowerCase() };
    });
    keyed.sort(function (x, y) {
      var r = (x.num !== null && y.num !== null) ? x.num - y.num : (x.str < y.str ? -1 : x.str > y.str ? 1 : 0);
      return desc ? -r : r;
    });
    keyed.forEach(function (k) { body.appendChild(k.row); });
    if (table.hasAttribute("data-page")) { table.page = 0; paginate(table); }
  }

  // Evidence bodies are inert <template>s until opened, so a 100k-finding report does not
  // lay out a quarter of a million nodes nobody looks at.
  function materialize(details) {
    var t = details.querySelector(":scope > template");
    if (t) { details.appendChild(document.importNode(t.content, true)); t.remove(); }
  }

  function findInTemplates(id) {
    var templates = document.querySelectorAll("details.req > template");
    for (var i = 0; i < templates.length; i++) {
      if (templates[i].content.getElementById(id)) { materialize(templates[i].parentNode); return; }
    }
  }

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    if (!document.getElementById(id)) findInTemplates(id);
    var el = document.getElementById(id);
    if (!el) return;
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === "DETAILS") { materialize(p); p.open = true; }
      if (p.hidden && p.tagName === "TR") {
        var table = p.closest("table[data-page]");
        if (table) {
          var rows = Array.prototype.filter.call(table.tBodies[0].rows, function (r) { return !r.classList.contains("fout"); });
          table.page = Math.floor(rows.indexOf(p) / (Number(table.getAttribute("data-page")) || 100));
          paginate(table);
        }
      }
    }
    el.scrollIntoView();
  }

  function bind(id, key, convert) {
    var el = document.getElementById(id);
    if (!el) return;
    var timer = null;
    el.addEventListener(el.tagName === "INPUT" ? "input" : "change", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state[key] = convert(el.value); apply(); }, el.tagName === "INPUT" ? 150 : 0);
    });
  }

  bind("f-app", "app", String);
  bind("f-company", "company", String);
  bind("f-type", "type", String);
  bind("f-sens", "sens", function (v) { return RANK[v] || 0; });
  bind("f-q", "q", function (v) { return v.trim().toLowerCase(); });
  var reset = document.getElementById("f-reset");
  if (reset) reset.addEventListener("click", function () {
    ["f-app", "f-company", "f-type", "f-sens", "f-q"].forEach(function (id) {
      var el = document.getElementById(id); if (el) el.value = "";
    });
    state = { app: "", company: "", type: "", sens: 0, q: "" };
    apply();
  });
  document.querySelectorAll("th.sort").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  paged.forEach(makePager);
  document.querySelectorAll("details.req").forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open) materialize(d); });
  });
  // Printing or saving as PDF keeps the proof: every evidence entry the filters list is
  // opened (with its decoded request) for the print, and closed again after it.
  var openedForPrint = [];
  function openForPrint() {
    document.querySelectorAll("details.req:not(.fout)").forEach(function (d) {
      materialize(d);
      [d].concat(Array.prototype.slice.call(d.querySelectorAll("details"))).forEach(function (e) {
        if (!e.open) { e.open = true; openedForPrint.push(e); }
      });
    });
  }
  function closeAfterPrint() {
    openedForPrint.forEach(function (e) { e.open = false; });
    openedForPrint = [];
  }
  window.addEventListener("beforeprint", openForPrint);
  window.addEventListener("afterprint", closeAfterPrint);
  document.getElementById("filters").hidden = false;
  apply();
  window.addEventListener("hashchange", openTarget);
  openTarget();
  document.documentElement.setAttribute("data-ready", "1");
})();

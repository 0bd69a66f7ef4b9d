"""The report's charts as layouts (inline SVG drawn by the template): bars, columns and
ticks computed here from aggregates or from (time, status, receiver) rows streamed out of
the store, so no chart holds every request."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .datatypes import SPECIAL
from .report_format import when

CHART_WIDTH = 720


def types_per_company_chart(rows: list[dict[str, Any]], limit: int = 20) -> dict[str, Any]:
    """Horizontal bars: distinct data types each receiver got, stacked by sensitivity."""
    per_party: dict[str, dict[str, set[str]]] = {}
    for row in rows:
        levels = per_party.setdefault(row["party"], {SPECIAL: set(), "high": set(), "medium": set(), "low": set()})
        levels[row["sensitivity"]].add(row["data_type"])
    ordered = sorted(per_party.items(), key=lambda kv: (-sum(len(s) for s in kv[1].values()), kv[0]))[:limit]
    most = max((sum(len(s) for s in levels.values()) for _, levels in ordered), default=1)
    label_w, bar_h, gap = 220, 18, 6
    scale = (CHART_WIDTH - label_w - 40) / max(most, 1)
    bars = []
    for i, (party, levels) in enumerate(ordered):
        x, y = label_w, i * (bar_h + gap)
        segments = []
        for level in (SPECIAL, "high", "medium", "low"):
            n = len(levels[level])
            if n:
                segments.append({"x": round(x, 1), "w": round(n * scale, 1), "level": level, "n": n,
                                 "types": ", ".join(sorted(levels[level]))})
                x += n * scale
        bars.append({"party": party, "y": y, "segments": segments, "total": sum(len(s) for s in levels.values()),
                     "end": round(x + 4, 1)})
    return {"width": CHART_WIDTH, "height": max(len(bars), 1) * (bar_h + gap), "bar_h": bar_h,
            "label_w": label_w, "bars": bars}


def requests_over_time_chart(times: Iterable[tuple[float, str, str]], start: float | None, end: float | None,
                             bins: int = 48) -> dict[str, Any]:
    """Columns: requests per time bin, tracker requests and no-rule requests stacked.
    *times*: (timestamp, status, receiver) of every request, streamed; *start*/*end*: the
    first and last timestamp."""
    height, top = 120, 10
    if start is None or end is None:
        return {"width": CHART_WIDTH, "height": height + 30, "bars": [], "start": "", "end": ""}
    start, end = float(start), float(end)
    span = max(end - start, 1e-9)
    counts: dict[int, list[int]] = {}
    for ts, status, _ in times:
        b = round((float(ts) - start) / span * (bins - 1))
        counts.setdefault(b, [0, 0])[0 if status != "no_rule" else 1] += 1
    most = max(sum(c) for c in counts.values())
    width = (CHART_WIDTH - 20) / bins
    bars = []
    for b in sorted(counts):
        t, o = counts[b]
        h_t, h_o = t / most * height, o / most * height
        x = 10 + int(b) * width
        bars.append({"x": round(x, 1), "w": round(max(width - 2, 1), 1), "t": t, "o": o,
                     "y_t": round(top + height - h_t, 1), "h_t": round(h_t, 1),
                     "y_o": round(top + height - h_t - h_o, 1), "h_o": round(h_o, 1),
                     "when": when(start + int(b) * span / max(bins - 1, 1))})
    return {"width": CHART_WIDTH, "height": height + 30, "base": top + height, "bars": bars,
            "start": when(start), "end": when(end), "most": most}


class Ticks:
    """One lane's ticks, made when the template draws them: the lane keeps a count per pixel
    column (a list of ints), not a dict per tick with its time text, so a timeline costs a
    few kilobytes per receiver however many requests and apps the report has (the context of
    every app is built before the page is written)."""

    __slots__ = ("counts", "label_w", "start", "span")

    def __init__(self, plot_w: int, label_w: int, start: float, span: float) -> None:
        self.counts = [0] * (plot_w + 1)
        self.label_w, self.start, self.span = label_w, start, span

    def add(self, px: int) -> None:
        # The lane's times lie within [start, start + span] (both come from the same rows),
        # so px is a column of the plot; clamped all the same.
        self.counts[min(max(px, 0), len(self.counts) - 1)] += 1

    def __iter__(self) -> Iterator[dict[str, Any]]:
        plot_w = len(self.counts) - 1
        for px, n in enumerate(self.counts):
            if n:
                yield {"x": self.label_w + px, "n": n, "when": when(self.start + px / plot_w * self.span)}


def timeline_chart(times: Iterable[tuple[float, str, str]], start: float | None, end: float | None,
                   parties: list[tuple[str, int]], lanes: int = 12) -> dict[str, Any]:
    """One lane per receiver (the *lanes* with most requests; *parties* is every receiver,
    most requests first), one tick per pixel column with transmissions (counted in its
    tooltip). *times*: (timestamp, status, receiver) of the app's requests, streamed."""
    if start is None or end is None:
        return {"lanes": [], "width": CHART_WIDTH, "height": 0}
    label_w, lane_h = 200, 16
    plot_w = CHART_WIDTH - label_w - 10
    start = float(start)
    span = max(float(end) - start, 1e-9)
    top = [party for party, _ in parties[:lanes]]
    ticks = {party: Ticks(plot_w, label_w, start, span) for party in top}
    for ts, _, party in times:
        lane = ticks.get(party)
        if lane is not None:
            lane.add(round((float(ts) - start) / span * plot_w))
    out = [{"party": party, "y": i * lane_h, "ticks": ticks[party]} for i, party in enumerate(top)]
    return {"lanes": out, "width": CHART_WIDTH, "height": len(out) * lane_h + 18, "label_w": label_w,
            "start": when(start), "end": when(start + span), "more": max(0, len(parties) - lanes)}

"""pytest plugin that turns the end-to-end SDK tests into recorders (`pytest -p recorder_plugin`).

The e2e tests already drive 50-odd official SDKs through a real `mitmdump` in block mode
(browser SDKs in confined Chromium, Node and Python SDKs as child processes). Rather than
write every driver twice, the accuracy benchmark runs those tests with this plugin, which
keeps what each one recorded:

- every proxy's dump, copied when the test stops it (`capture.mitm`, `capture-2.mitm`, ...);
- for browser tests, Chromium's own HAR of the page (Playwright `record_har_path`);
- the test module's honey values (`honey.json`: its `HONEY` constant and named string constants).

Whether the test's own assertions pass does not matter here: the benchmark scores what was
sent. Output goes to $ACCURACY_RECORDINGS/<module>.<test>/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

OUT = Path(os.environ.get("ACCURACY_RECORDINGS", Path(__file__).resolve().parent / "out" / "recordings"))
_current: dict[str, Any] = {"dir": None, "module": None, "captures": 0, "hars": 0}


def _slug(nodeid: str) -> str:
    """tests/e2e/test_x.py::test_y[z] → test_x.test_y-z (a directory name)."""
    module, _, name = nodeid.partition("::")
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{Path(module).stem}.{name}").strip("-")


def _json_safe(value: Any) -> Any:
    """The honey constant as JSON (sets, as in (value, {types}) pairs, become lists)."""
    try:
        return json.loads(json.dumps(value, default=sorted))
    except (TypeError, ValueError):
        return str(value)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Name the recording after the test whose setup or body starts a proxy."""
    _current.update(dir=OUT / _slug(item.nodeid), module=item.module, captures=0, hars=0)


def _keep_capture(proxy: Any) -> None:
    """Copy a stopped proxy's dump (and the module's honey values) into the current recording."""
    target: Path | None = _current["dir"]
    if target is None or not Path(proxy.dump).is_file() or Path(proxy.dump).stat().st_size == 0:
        return
    target.mkdir(parents=True, exist_ok=True)
    _current["captures"] += 1
    n = _current["captures"]
    shutil.copyfile(proxy.dump, target / ("capture.mitm" if n == 1 else f"capture-{n}.mitm"))
    (target / "honey.json").write_text(json.dumps(honey_of(_current["module"]), indent=1, sort_keys=True))


def honey_of(module: Any) -> dict[str, Any]:
    """What the test planted: its `HONEY` constant, and its other upper-case string constants
    (USER_ID, PROFILE_EMAIL, API_KEY...), whose names say what the value is. Pages, scripts,
    paths and host names are left out."""
    constants = {name: value for name, value in vars(module).items()
                 if name.isupper() and isinstance(value, str) and 3 < len(value) < 200
                 and "\n" not in value and not value.startswith("/") and not name.endswith(("HOST", "HOSTS", "URL"))}
    honey = getattr(module, "HONEY", None) or getattr(module, "HONEY_VALUES", {})
    return {"HONEY": _json_safe(honey), "constants": constants}


def _patch_proxy() -> None:
    import conftest  # tests/conftest.py, the one the e2e tests import

    if getattr(conftest.Proxy.stop, "_recording", False):
        return
    original = conftest.Proxy.stop

    def stop(self: Any) -> str:
        already = self.process is None or self.process.poll() is not None
        log = original(self)
        if not already:
            _keep_capture(self)
        return log

    stop._recording = True  # type: ignore[attr-defined]
    conftest.Proxy.stop = stop


def _patch_playwright() -> None:
    """Every page the tests open records a HAR; closing the browser closes its contexts first,
    which is when Playwright writes the HAR."""
    try:
        from playwright.sync_api._generated import Browser
    except ImportError:
        return
    new_page, close = Browser.new_page, Browser.close

    def recording_new_page(self: Any, *args: Any, **kwargs: Any) -> Any:
        target: Path | None = _current["dir"]
        if target is not None and "record_har_path" not in kwargs:
            target.mkdir(parents=True, exist_ok=True)
            _current["hars"] += 1
            n = _current["hars"]
            kwargs["record_har_path"] = str(target / ("browser.har" if n == 1 else f"browser-{n}.har"))
        return new_page(self, *args, **kwargs)

    def closing_contexts_first(self: Any, *args: Any, **kwargs: Any) -> Any:
        for context in list(self.contexts):
            try:
                context.close()
            except Exception:  # a crashed page: the HAR is lost, the dump is not
                pass
        return close(self, *args, **kwargs)

    Browser.new_page, Browser.close = recording_new_page, closing_contexts_first


def pytest_collection_finish(session: pytest.Session) -> None:
    _patch_proxy()
    _patch_playwright()

"""Start-up and caches: what `leakmap --help` imports, `analyze --no-report`, the compiled-rule
cache (hit, miss, invalidation, corrupt or foreign entries, unwritable folder), and findings
identical with and without the caches. Timing belongs in benchmarks/, not here: these assert
what is imported and what is computed, which can fail deterministically.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from leakmap import cli_common, export, rules, rules_cache
from leakmap.decode import Limits
from leakmap.pipeline import Analyzer
from leakmap.read import read_any

from support.cli import leakmap

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "mixpanel-sample.mitm"
MIXPANEL_RULE = rules.bundled_rules_dir() / "mixpanel.yaml"
HEAVY = ("pandas", "mitmproxy", "jinja2", "jsonschema", "ruamel.yaml", "tldextract", "numpy", "cryptography")


def imported_by(code: str) -> set[str]:
    """Top-level packages imported by a fresh interpreter running *code* (and the heavy ones
    among them)."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            cwd=ROOT, env={**os.environ, "LEAKMAP_NO_RULE_CACHE": "1"})
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    return {name for name in modules if name.split(".")[0] in {h.split(".")[0] for h in HEAVY} and name in HEAVY}


def test_help_imports_nothing_heavy():
    code = ("import sys\nfrom leakmap.cli import main\nsys.argv = ['leakmap', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    assert imported_by(code) == set()


def test_analyze_help_imports_nothing_heavy():
    code = ("import sys\nfrom leakmap.cli import main\nsys.argv = ['leakmap', 'analyze', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass")
    assert imported_by(code) == set()


def test_har_reading_needs_no_mitmproxy_or_pandas(tmp_path):
    har = tmp_path / "one.har"
    har.write_text(json.dumps({"log": {"entries": [{"startedDateTime": "2024-05-01T08:00:00Z", "request": {
        "method": "GET", "url": "https://api.mixpanel.com/track?data=e30=", "headers": []}}]}}))
    code = (f"from pathlib import Path\nfrom leakmap.read import read_any\nfrom leakmap.limits import Limits\n"
            f"items = list(read_any(Path({str(har)!r}), Limits()))\nassert len(items) == 1, items")
    assert imported_by(code) & {"mitmproxy", "pandas"} == set()


def test_format_choices_match_the_exporters():
    assert cli_common.FORMATS == export.FORMATS


def test_no_report_writes_findings_but_no_html(tmp_path):
    result = leakmap("analyze", SAMPLE, "--no-report", "--findings", "f.csv", "--db", "s.db", "-o", "r.html",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "r.html").exists()
    assert "report:" not in result.stdout
    rows = (tmp_path / "f.csv").read_text().splitlines()
    assert len(rows) > 10 and "jane.doe@example.com" in "\n".join(rows)
    assert (tmp_path / "s.db").stat().st_size > 0


# --- compiled-rule cache ---------------------------------------------------------------------


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.delenv(rules_cache.DISABLE_ENV, raising=False)
    return home / "leakmap"


class Counting:
    """The real rule compiler, counting its calls (a hit does not call it)."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, file: Path) -> rules.Rule:
        self.calls += 1
        return rules._compile_file(file)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("rules-*.pickle"))


def test_cache_miss_then_hit(cache_home, tmp_path):
    rule_file = tmp_path / "mixpanel.yaml"
    shutil.copy(MIXPANEL_RULE, rule_file)
    compile_ = Counting()
    first = rules_cache.load(rule_file, compile_)
    second = rules_cache.load(rule_file, compile_)
    assert compile_.calls == 1
    assert (second.id, [e.id for e in second.endpoints]) == (first.id, [e.id for e in first.endpoints])
    assert second.endpoints[0].rule is second  # the back reference survives the pickle
    [entry] = entries(cache_home)
    assert entry.stat().st_mode & 0o777 == 0o600
    assert cache_home.stat().st_mode & 0o777 == 0o700


def test_rules_read_from_the_cache_compile_no_regex_until_a_request_needs_it(cache_home):
    """323 endpoint path regexes compiled on every read of the cache were about 40% of
    reading it; each is compiled when a request first reaches its endpoint."""
    rules.load_rules()  # fills the cache
    cached, _ = rules.load_rules()
    with_path = [e for r in cached for e in r.endpoints if e.path is not None]
    assert len(with_path) > 100 and all(e.path._compiled is None for e in with_path)
    mixpanel = next(r for r in cached if r.id == "mixpanel")
    track = next(e for e in mixpanel.endpoints if e.path is not None and e.path.search("/track"))
    assert track.path._compiled is not None
    assert sum(e.path._compiled is not None for e in with_path) < 5


def test_cache_invalidated_when_the_rule_file_changes(cache_home, tmp_path):
    rule_file = tmp_path / "mixpanel.yaml"
    shutil.copy(MIXPANEL_RULE, rule_file)
    compile_ = Counting()
    rules_cache.load(rule_file, compile_)
    text = rule_file.read_text()
    rule_file.write_text(text.replace("name: Mixpanel", "name: Mixpanel (edited)", 1))
    edited = rules_cache.load(rule_file, compile_)
    assert compile_.calls == 2 and edited.name == "Mixpanel (edited)"
    assert rules_cache.load(rule_file, compile_).name == "Mixpanel (edited)" and compile_.calls == 2


def test_cache_invalidated_when_leakmap_changes(cache_home, tmp_path, monkeypatch):
    rule_file = tmp_path / "mixpanel.yaml"
    shutil.copy(MIXPANEL_RULE, rule_file)
    compile_ = Counting()
    rules_cache.load(rule_file, compile_)
    monkeypatch.setattr(rules_cache, "code_key", lambda: "other leakmap code")
    rules_cache.load(rule_file, compile_)
    assert compile_.calls == 2


def test_corrupt_or_foreign_entries_are_rebuilt(cache_home, tmp_path):
    rule_file = tmp_path / "mixpanel.yaml"
    shutil.copy(MIXPANEL_RULE, rule_file)
    compile_ = Counting()
    rules_cache.load(rule_file, compile_)
    [entry] = entries(cache_home)
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    assert rules_cache.load(rule_file, compile_).id == "mixpanel" and compile_.calls == 2
    # An entry whose key does not match is never used, whatever it holds.
    entry.write_bytes(pickle.dumps(("another key", "not a rule")))
    assert rules_cache.load(rule_file, compile_).id == "mixpanel" and compile_.calls == 3
    assert rules_cache.load(rule_file, compile_).id == "mixpanel" and compile_.calls == 3  # rewritten, a hit


def test_entry_writable_by_others_is_not_unpickled(cache_home, tmp_path):
    rule_file = tmp_path / "mixpanel.yaml"
    shutil.copy(MIXPANEL_RULE, rule_file)
    compile_ = Counting()
    rules_cache.load(rule_file, compile_)
    [entry] = entries(cache_home)
    entry.chmod(0o666)
    rules_cache.load(rule_file, compile_)
    assert compile_.calls == 2


def test_unwritable_cache_folder_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    compile_ = Counting()
    assert rules_cache.load(MIXPANEL_RULE, compile_).id == "mixpanel"
    assert rules_cache.load(MIXPANEL_RULE, compile_).id == "mixpanel"
    assert compile_.calls == 2


def test_invalid_rule_is_reported_every_time(cache_home, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\nname: Bad\ncompany: Bad\ncategory: analytics\nendpoints: []\n")
    for _ in range(2):
        with pytest.raises(rules.RuleError):
            rules.load_file(bad)
    assert entries(cache_home) == []


def test_cache_keeps_the_newest_entries(cache_home, tmp_path, monkeypatch):
    monkeypatch.setattr(rules_cache, "MAX_ENTRIES", 2)
    for n in range(4):
        rule_file = tmp_path / f"rule{n}.yaml"
        shutil.copy(MIXPANEL_RULE, rule_file)
        rules_cache.load(rule_file, Counting())
    assert len(entries(cache_home)) == 2
    compile_ = Counting()
    rules_cache.load(tmp_path / "rule3.yaml", compile_)  # the newest is still there
    assert compile_.calls == 0


def test_cache_can_be_turned_off(cache_home, monkeypatch):
    monkeypatch.setenv(rules_cache.DISABLE_ENV, "1")
    rules.load_rules()
    assert not cache_home.exists()


# --- findings identical with and without the caches -------------------------------------------


def mixed_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """bench_analyze's generator: Mixpanel in its Android, JS and iOS formats among ordinary
    app and web traffic, written by mitmproxy's FlowWriter."""
    spec = importlib.util.spec_from_file_location("bench_analyze", ROOT / "benchmarks" / "bench_analyze.py")
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_analyze", bench)  # its dataclasses look themselves up there
    spec.loader.exec_module(bench)
    path = tmp_path / "mixed.mitm"
    bench.generate(path, 120, 0.3)
    return path


def outcome(analyzer: Analyzer, captures: list[Path]) -> list[tuple]:
    out = []
    for capture in captures:
        for request in read_any(capture, Limits()):
            analysis = analyzer.analyze(request)
            if analysis is not None:
                out.append((analysis.status, analysis.tracker, analysis.endpoint, tuple(analysis.fields),
                            tuple((f.data_type, f.value, f.path, f.detector, f.detail) for f in analysis.findings)))
    return out


def test_findings_identical_with_and_without_caches(cache_home, tmp_path, monkeypatch):
    captures = [SAMPLE, mixed_capture(tmp_path, monkeypatch)]
    with monkeypatch.context() as uncached:
        uncached.setenv(rules_cache.DISABLE_ENV, "1")
        uncached.setattr(rules.FieldMap, "lookup", rules.FieldMap._lookup)  # no memo: computed afresh
        expected = outcome(Analyzer(rules.load_rules()[0]), captures)
    assert not cache_home.exists()
    rules.load_rules()  # fills the cache
    cached_rules, _ = rules.load_rules()  # read from it
    assert entries(cache_home)
    got = outcome(Analyzer(cached_rules), captures)
    assert len(expected) > 30 and sum(len(row[4]) for row in expected) > 200
    assert got == expected

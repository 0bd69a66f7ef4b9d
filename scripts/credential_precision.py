#!/usr/bin/env python3
"""Measure the credential detector's false positives on ordinary SDK traffic (with
`--special`: the special-category detector's, leakmap/special.py).

Every credential the value-based detector (leakmap/credentials.py, detector `credential`)
reports on traffic that holds none is a false positive. Two corpora:

  scripts/credential_precision.py CAPTURES...   analyse .mitm/.har captures (the bundled
                                                samples, e2e dumps) and count
  scripts/credential_precision.py --golden      run the golden tests (every payload built the
                                                way an SDK builds it) and count what the
                                                analyzer reported for each request

Prints requests analysed, findings, and each credential finding (type, host, path, detail).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CREDENTIAL_TYPES = {"api_key", "auth_token", "password"}


WATCHED = "credential"  # or "special" (--special)


def is_new_credential(detector: str, data_type: str) -> bool:
    """Findings this detector adds: by value (`credential`) or from inside a recording."""
    if WATCHED == "special":
        return detector == "special"
    return detector == "credential" or (detector == "replay" and data_type in CREDENTIAL_TYPES)


def captures(paths: list[Path]) -> int:
    from leakmap.decode import Limits
    from leakmap.session import Session
    from leakmap.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "f.db")
        session = Session(store)
        for path in paths:
            session.replay(path, Limits())
        frame = store.findings_frame()
        requests = sum(s.flows_read for s in session.stats.values())
        hits = frame[[is_new_credential(d, t) for d, t in zip(frame["detector"], frame["data_type"])]]
        print(f"captures: {len(paths)} files, {requests} flows, {len(store.requests_frame())} stored requests, "
              f"{len(frame)} findings, {len(hits)} {WATCHED} findings")
        for row in hits.itertuples():
            print(f"  {row.data_type} {row.url[:80]} {row.path} ({row.detail})")
        return len(hits)


def golden() -> int:
    """Run tests/golden with a plugin that tallies every analysis."""
    plugin = Path(tempfile.mkdtemp()) / "credential_tally.py"
    plugin.write_text(
        "import atexit\nfrom leakmap import pipeline\nfrom collections import Counter\n"
        "counts = Counter(); hits = []\n"
        "original = pipeline.Analyzer.analyze\n"
        "def analyze(self, request):\n"
        "    a = original(self, request)\n"
        "    counts['requests'] += 1\n"
        "    if a is not None:\n"
        "        counts['findings'] += len(a.findings)\n"
        "        hits.extend((f.data_type, request.host, f.path, f.detail) for f in a.findings\n"
        f"                    if f.detector == {WATCHED!r} or ({WATCHED != 'special'} and f.detector == 'replay'\n"
        "                    and f.data_type in ('api_key', 'auth_token', 'password')))\n"
        "    return a\n"
        "pipeline.Analyzer.analyze = analyze\n"
        "def report():\n"
        "    print(f\"golden: {counts['requests']} requests analysed, {counts['findings']} findings, \"\n"
        f"          f\"{{len(hits)}} {WATCHED} findings\")\n"
        "    for h in hits: print('  ', *h)\n"
        "atexit.register(report)\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "tests/golden", "-q", "-p", plugin.stem,
                             "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(plugin.parent)})
    tail = result.stdout[result.stdout.rfind("golden:"):] if "golden:" in result.stdout else result.stdout[-2000:]
    print(tail.strip())
    print(result.stdout.strip().splitlines()[-1] if "golden:" not in result.stdout.splitlines()[-1] else "")
    count = Counter(line.startswith("   ") for line in tail.splitlines())
    return count[True]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("captures", nargs="*", type=Path)
    parser.add_argument("--golden", action="store_true")
    parser.add_argument("--special", action="store_true", help="count special-category findings instead")
    args = parser.parse_args()
    global WATCHED
    WATCHED = "special" if args.special else "credential"
    found = 0
    if args.captures:
        found += captures(args.captures)
    if args.golden:
        found += golden()
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()

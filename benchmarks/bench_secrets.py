#!/usr/bin/env python3
"""Masking secrets in outputs when a capture holds many of them.

Every output (report, CSV/JSON/Parquet, `leakmap replay`) passes its text through
`credentials.SecretHider`, built from every credential finding of the store. An app that signs
each request with a fresh token leaves one secret per request. This script builds a hider from
N random secrets (20 to 60 characters, each in its four forms) and masks a 1.5 KB URL holding
one of them, in two ways, each in its own process (peak RSS is that process's own):

  regex      one regular expression alternating every form, longest first (how leakmap did
             it before: Python's `re` tries the branches one after another at every position)
  automaton  leakmap's SecretHider: one Aho-Corasick automaton (ahocorasick_rs), leftmost-longest

    .venv/bin/python benchmarks/bench_secrets.py [--secrets 1000 10000 50000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import string
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def secrets(count: int) -> list[str]:
    chance = random.Random(1)
    alphabet = string.ascii_letters + string.digits + "+/="
    return ["".join(chance.choices(alphabet, k=chance.randint(20, 60))) for _ in range(count)]


def one(kind: str, count: int) -> dict[str, float]:
    values = secrets(count)
    chance = random.Random(2)
    text = "https://api.example.com/v1/x?a=" + "".join(chance.choices(string.ascii_letters, k=1500)) + \
        "&token=" + quote(values[5], safe="")
    start = time.perf_counter()
    if kind == "regex":
        from leakmap.credentials import mask

        forms: dict[str, str] = {}
        for value in values:
            for form in (value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]):
                forms.setdefault(form, mask(value))
        pattern = re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))

        def hide(t: str) -> str:
            return pattern.sub(lambda m: forms[m.group(0)], t)
    else:
        from leakmap.credentials import SecretHider

        hide = SecretHider(values).text  # type: ignore[assignment]
    built = time.perf_counter() - start
    rounds, start = 0, time.perf_counter()
    while rounds < 3 or time.perf_counter() - start < 1.0:
        shown = hide(text)
        rounds += 1
    assert values[5] not in shown and quote(values[5], safe="") not in shown
    return {"build_s": built, "mask_ms": (time.perf_counter() - start) / rounds * 1000,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--secrets", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # KIND COUNT: run one measurement here
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return
    print(f"{'secrets':>8}  {'way':<9} {'build':>8} {'mask 1.5 KB':>12} {'peak RSS':>9}")
    for count in args.secrets:
        for kind in ("regex", "automaton"):
            out = subprocess.run([sys.executable, __file__, "--one", kind, str(count)], capture_output=True,
                                 text=True, check=True)
            r = json.loads(out.stdout)
            print(f"{count:>8}  {kind:<9} {r['build_s']:7.2f}s {r['mask_ms']:10.3f}ms {r['peak_mb']:7.0f}MB", flush=True)


if __name__ == "__main__":
    main()

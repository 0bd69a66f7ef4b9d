"""leakmap's accuracy on real SDK traffic: record (cached), build the truth, score, publish.

    .venv/bin/python benchmarks/accuracy/run.py                  # score the cached recordings
    .venv/bin/python benchmarks/accuracy/run.py --record         # re-record every SDK first
    .venv/bin/python benchmarks/accuracy/run.py --write-readme   # also update README's "Accuracy"

Recordings missing from out/recordings/ are recorded first (record.py). Results go to
out/accuracy.json and, as markdown, to stdout. See README.md here for how the truth is built.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from record import MODULES, RECORDINGS, record  # noqa: E402
from score import SOURCES, Score, findings_of, score  # noqa: E402
from truth import truth_of_recording  # noqa: E402

README = HERE.parent.parent / "README.md"
BEGIN, END = "<!-- accuracy:begin -->", "<!-- accuracy:end -->"
TARGET_OVERALL, TARGET_TRACKER = 0.97, 0.90
LABELS = {"mitm": "`.mitm`", "mitmproxy_har": "mitmproxy HAR", "browser_har": "Chromium HAR"}


def measure(recordings: Path) -> tuple[dict[str, Score], list[str]]:
    """Source → score over every recording in *recordings*; and the problems leakmap reported."""
    scores = {source: Score() for source in SOURCES}
    problems: list[str] = []
    for directory in sorted(d for d in recordings.iterdir() if (d / "honey.json").is_file()):
        truth = truth_of_recording(directory)
        for source, pattern in SOURCES.items():
            files = sorted(directory.glob(pattern))
            if not files:
                continue
            found, trouble = findings_of(files)
            problems += [f"{directory.name}/{p}" for p in trouble]
            score(truth, found, scores[source])
    return scores, problems


def as_json(scores: dict[str, Score]) -> dict:
    return {source: {"overall": s.overall().row(), "sdk_collected": s.sdk_collected.row(),
                     "per_tracker": {k: v.row() for k, v in sorted(s.per_receiver.items())},
                     "per_type": {k: v.row() for k, v in sorted(s.per_type.items())},
                     "misses": s.misses, "wrong": s.wrong, "wrong_high": s.wrong_high}
            for source, s in scores.items() if s.per_receiver}


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def markdown(scores: dict[str, Score]) -> str:
    """The README table: overall, per tracker and per data type, one column group per source."""
    sources = [s for s in SOURCES if scores[s].per_receiver]
    head = "| tracker (truth values) | " + " | ".join(
        f"{LABELS[s]} typed | {LABELS[s]} value | {LABELS[s]} precision" for s in sources) + " |"
    rule = "|---|" + "---|" * (3 * len(sources))

    def line(name: str, rows: list[dict | None], truth: int) -> str:
        cells = []
        for row in rows:
            cells += ["–"] * 3 if row is None else [_cell(row["typed_recall"]), _cell(row["value_recall"]),
                                                   _cell(row["precision"])]
        return f"| {name} ({truth}) | " + " | ".join(cells) + " |"

    def rows_for(getter) -> list[dict | None]:
        return [getter(scores[s]) for s in sources]

    mitm = scores["mitm"]
    out = [head, rule, line("**all**", rows_for(lambda s: s.overall().row()), mitm.overall().truth),
           line("SDK-collected (no honey)", rows_for(lambda s: s.sdk_collected.row()), mitm.sdk_collected.truth)]
    for name in sorted(mitm.per_receiver, key=str.lower):
        out.append(line(name, rows_for(lambda s: s.per_receiver[name].row() if name in s.per_receiver else None),
                        mitm.per_receiver[name].truth))
    out += ["", "Per data type (`.mitm`): " + ", ".join(
        f"{t} {_cell(v.row()['typed_recall'])}/{_cell(v.row()['precision'])} ({v.truth})"
        for t, v in sorted(mitm.per_type.items()))]
    out += ["", "High-sensitivity findings the truth marks wrong: " + "; ".join(
        f"{LABELS[s]} {len(scores[s].wrong_high)}"
        + "".join(f" ({r}: {t} where the truth says {'/'.join(w)})" for r, t, w in sorted({(r, t, tuple(w)) for r, _, t, w in scores[s].wrong_high}))
        for s in sources)]
    failures = verdict(scores)
    out += ["", "Below issue 9's targets: " + ("; ".join(failures) if failures else "nothing") + "."]
    return "\n".join(out)


def verdict(scores: dict[str, Score]) -> list[str]:
    """What misses issue 9's targets, one line each (empty: all met)."""
    lines = []
    for source in ("mitm", "mitmproxy_har"):
        s = scores[source]
        overall = s.overall().row()["typed_recall"] or 0
        if overall < TARGET_OVERALL:
            lines.append(f"{source}: typed recall {overall:.3f} < {TARGET_OVERALL}")
        for name, tally in sorted(s.per_receiver.items()):
            recall = tally.row()["typed_recall"]
            if recall is not None and recall < TARGET_TRACKER:
                lines.append(f"{source}: {name} typed recall {recall:.3f} < {TARGET_TRACKER}")
        if s.wrong_high:
            lines.append(f"{source}: {len(s.wrong_high)} wrong high-sensitivity findings")
    return lines


def write_readme(table: str) -> None:
    text = README.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    README.write_text(text[:start] + "\n" + table + "\n" + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--record", action="store_true", help="re-record every SDK (else only missing ones)")
    parser.add_argument("--recordings", type=Path, default=RECORDINGS, help="recordings to score (no recording)")
    parser.add_argument("--write-readme", action="store_true", help="update README.md between the accuracy markers")
    parser.add_argument("--json", type=Path, default=HERE / "out" / "accuracy.json", help="where the JSON goes")
    parser.add_argument("--show", type=int, default=0, help="print up to N misses and wrong findings per source")
    args = parser.parse_args(argv)
    if args.recordings == RECORDINGS:
        record(list(MODULES), force=args.record, log=lambda m: print(m, file=sys.stderr))
    scores, problems = measure(args.recordings)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"scores": as_json(scores), "problems": problems}, indent=1))
    table = markdown(scores)
    print(table)
    for source, s in scores.items():
        for what, items in (("missed", s.misses), ("wrong", s.wrong)):
            for item in items[: args.show]:
                print(f"{source} {what}: {item}")
    failures = verdict(scores)
    print("\n" + ("\n".join(failures) if failures else "all targets met"), file=sys.stderr)
    if args.write_readme:
        write_readme(table)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Derive leakmap/data/entities.tsv from AdGuard companiesdb (CC BY-SA 4.0).

Usage: scripts/build_entities.py DIST_DIR [COMMIT]
DIST_DIR holds companiesdb's dist/trackers.json and dist/companies.json (a checkout of
github.com/AdguardTeam/companiesdb). The output keeps only what naming a receiver needs:
one line per tracker domain with the tracker's name, the owning company's name and the
tracker category. The derived file stays under CC BY-SA 4.0 (leakmap/data/ENTITIES.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "leakmap" / "data" / "entities.tsv"


def clean(text: str) -> str:
    return " ".join(str(text or "").split())


def main(dist: Path, commit: str) -> None:
    trackers = json.loads((dist / "trackers.json").read_text(encoding="utf-8"))
    companies = json.loads((dist / "companies.json").read_text(encoding="utf-8"))["companies"]
    categories = trackers["categories"]
    rows = []
    for domain, tracker_id in sorted(trackers["trackerDomains"].items()):
        tracker = trackers["trackers"].get(tracker_id)
        if not tracker:
            continue
        company = companies.get(tracker.get("companyId") or "", {}).get("name") or tracker["name"]
        category = categories.get(str(tracker.get("categoryId")), "unknown")
        rows.append("\t".join(clean(x) for x in (domain.lower(), tracker["name"], company, category)))
    header = (f"# Derived from AdGuard companiesdb {commit} (CC BY-SA 4.0), see ENTITIES.md\n"
              "# domain\ttracker\tcompany\tcategory\n")
    OUT.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} domains written to {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "unknown commit")

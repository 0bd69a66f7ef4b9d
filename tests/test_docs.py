"""README facts that are generated must match what they describe."""

import subprocess
import sys

from conftest import ROOT


def test_readme_coverage_table_matches_the_rules():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "coverage_table.py"), "--check"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr or result.stdout

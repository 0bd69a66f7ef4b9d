"""The `leakmap` command run in the test process by click's test runner.

Why not a subprocess: each `leakmap` process spends seconds importing mitmproxy and pandas
on a loaded machine; the command functions, options and exit codes are the same either way
(test_cli.py covers the installed console script itself).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def leakmap(*args: str | Path, cwd: Path) -> Result:
    """Run `leakmap ARGS` in *cwd*; a bug (an exception click does not handle) propagates."""
    from leakmap.cli import main

    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    finally:
        os.chdir(previous)
    return Result(result.exit_code, result.stdout, result.stderr)

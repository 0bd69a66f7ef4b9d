"""Findings, report and exports stay what they were before the report and exports were
rebuilt on SQL aggregation and streaming (issue 10): the outputs of `leakmap report` for
three stores, plain and redacted, equal the ones committed in tests/regression/expected/,
which the pandas-based code produced (regenerate with `tests/regression/outputs.py --write`
only when a change of output is intended, and say which in the commit).
"""

from __future__ import annotations

import difflib

import pytest

from regression.outputs import STORES, build_store, expected, produce


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    work = tmp_path_factory.mktemp("regression")
    return {name: build_store(name, work / f"{name}.db") for name in STORES}


def first_difference(want: str, got: str) -> str:
    diff = difflib.unified_diff(want.splitlines(), got.splitlines(), "expected", "now", n=1, lineterm="")
    return "\n".join(line[:300] for line in list(diff)[:40])


@pytest.mark.parametrize("redact", [False, True], ids=["plain", "redacted"])
@pytest.mark.parametrize("name", STORES)
def test_outputs_equal_the_committed_ones(stores, tmp_path, name, redact):
    want = expected(name, redact)
    got = produce(stores[name], tmp_path, redact)
    assert sorted(got) == sorted(want)
    for file in want:
        assert got[file] == want[file], f"{name} {file}:\n{first_difference(want[file], got[file])}"

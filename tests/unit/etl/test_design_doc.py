"""docs/design.md states only what the code does and what tests prove: its reason lists and quoted constants
are the code's, and every test its promise table names exists."""

import re
import sys
from pathlib import Path

import pytest

from wildrydes_lambda.etl import dedupe, enrichment, grouping, ingestion, quarantine, rides, streaming

ROOT = Path(__file__).resolve().parents[3]
DESIGN = (ROOT / "docs" / "design.md").read_text()
TESTS = ROOT / "tests"
_CODE_RE = re.compile(r"`([A-Z][A-Z0-9_]+)`")


def between(start: str, end: str) -> str:
    at = DESIGN.index(start)
    return DESIGN[at : DESIGN.index(end, at)]


def test_reason_codes_listed_here_are_the_codes():
    ride_codes = set(_CODE_RE.findall(between("Ride reason codes:", "Unknown keys are ignored")))
    assert ride_codes == set(rides.REASONS) | {enrichment.NO_STATION_REASON}
    file_codes = set(_CODE_RE.findall(between("Whole-file outcomes", "A UTF-8 BOM is skipped")))
    assert file_codes == set(streaming.FILE_REASONS)


def _number(text: str) -> float:
    return float(text.replace(",", ""))


# (pattern in docs/design.md with the stated value as group 1, the code's value)
STATED = [
    (r"MAX_NESTING_DEPTH = ([\d,]+)", streaming.MAX_NESTING_DEPTH),
    (r"MAX_ITEMS_PER_FILE = ([\d,]+)", streaming.MAX_ITEMS_PER_FILE),
    (r"`MAX_LINE_BYTES` = (\d+) MiB", streaming.MAX_LINE_BYTES / 2**20),
    (r"MAX_DISTANCE_MILES = ([\d,]+)", rides.MAX_DISTANCE_MILES),
    (r"MAX_POINTS = ([\d,]+)", rides.MAX_POINTS),
    (r"HEAVY_MAGIC_PER_MILE = (\d+)", rides.HEAVY_MAGIC_PER_MILE),
    (r"≤ (\d+) chars, not blank", rides.MAX_NAME_CHARS),
    (r"\(ASCII, ≤ (\d+) chars\)", rides.MAX_NUMBER_STRING_CHARS),
    (r"years (\d{4})-\d{4}", rides.MIN_RIDE_YEAR),
    (r"years \d{4}-(\d{4})", rides.MAX_RIDE_YEAR),
    (r"starts at ([\d,]+) slots", dedupe._INITIAL_SLOTS),
    (r"≤ (\d+) lines each", quarantine.QUARANTINE_LINES_PER_OBJECT),
    (r"`RIDES_PER_MESSAGE`\s+\(env, default (\d+)[,)]", grouping.DEFAULT_RIDES_PER_MESSAGE),
    (r"S3's ([\d,]+)-byte key limit", ingestion.S3_MAX_KEY_BYTES),
]


@pytest.mark.parametrize("pattern, value", STATED, ids=[p for p, _ in STATED])
def test_constants_stated_here_are_the_code_s(pattern, value):
    stated = re.findall(pattern, DESIGN)
    assert stated, f"docs/design.md no longer states {pattern!r}"
    assert {_number(s) for s in stated} == {float(value)}


def _reliability_case_ids() -> set[str]:
    sys.path.insert(0, str(TESTS / "integration"))
    try:
        from reliability_cases import bad_input_cases, two_file_cases
    finally:
        sys.path.pop(0)
    return {c.id for c in bad_input_cases("doc") + two_file_cases("doc")} | {"large"}


def test_every_test_named_in_the_promise_table_exists():
    table = between("### Promises and the tests that prove them", "## Messages between stages")
    named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", table)
    assert len(named) >= 20
    by_basename = {path.name: path for path in TESTS.rglob("test_*.py")}
    missing = [
        f"{file}::{name}"
        for file, name in named
        if file not in by_basename or not re.search(rf"^def {name}\(", by_basename[file].read_text(), re.M)
    ]
    assert not missing, f"docs/design.md names tests that do not exist: {missing}"
    cases = set(re.findall(r"`reliability#(\w+)`", table))
    assert cases and not cases - _reliability_case_ids(), cases - _reliability_case_ids()

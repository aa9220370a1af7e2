"""docs/reliability.md generation: one row per case or check, the test that wrote it, peak RSS and time."""

import json

from wildrydes_dev import reliability_report


def row(case_id: str, test: str, passed: bool = True, **extra) -> dict:
    base = {
        "id": case_id,
        "input": f"input {case_id}",
        "outcome": "outcome",
        "observed": "observed",
        "rides_in": 3,
        "processed": 2,
        "quarantined": 1,
        "whole_file": False,
        "duplicates": 0,
        "doubled": 0,
        "lost": 0,
        "passed": passed,
        "problems": [] if passed else ["broken"],
        "test": test,
    }
    return {**base, **extra}


RESULTS = {
    "meta": {"run": "r1", "ingest_memory_mb": 256},
    "sections": {
        "bad_input": [
            row("bomb", "test_bad_inputs", peak_rss_mb=61, seconds=0.42),
            row("zeros", "test_bad_inputs", peak_rss_mb=None, seconds=None),
        ],
        "faults": [row("poison", "test_poison")],
        "checks": [
            {"id": "c", "input": "no DLQ message", "passed": False, "problems": ["x"], "test": "test_dlq"}
        ],
    },
}


def test_bad_input_rows_show_peak_rss_and_time_and_fault_rows_do_not():
    text = reliability_report.render(RESULTS, None)
    bomb = next(line for line in text.splitlines() if "input bomb" in line)
    assert "| 61 | 0.42 | pass |" in bomb
    assert "| – | – | pass |" in next(line for line in text.splitlines() if "input zeros" in line)
    poison = next(line for line in text.splitlines() if "input poison" in line)
    assert poison.endswith("| 0 | pass |") and poison.count("|") == 11
    assert "MemorySize 256 MB" in text


def test_each_table_names_its_tests_and_checks_have_their_own_rows():
    text = reliability_report.render(RESULTS, None)
    assert "Rows written by `test_bad_inputs` (tests/integration/test_reliability.py)." in text
    assert "Rows written by `test_poison`" in text
    assert "| 1 | no DLQ message | `test_dlq` | FAIL: x |" in text
    assert "0 of 1 run-wide checks passed; FAILED: c." in text


def test_a_failed_check_fails_the_report(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(RESULTS))
    out = tmp_path / "reliability.md"
    assert reliability_report.main(["--results", str(results), "--out", str(out), "--no-checkov"]) == 1
    assert out.read_text().startswith("# Reliability")
    passing = {**RESULTS, "sections": {**RESULTS["sections"], "checks": []}}
    results.write_text(json.dumps(passing))
    assert reliability_report.main(["--results", str(results), "--out", str(out), "--no-checkov"]) == 0


def test_dead_letter_rows_get_their_own_section_and_count_in_the_totals():
    results = {
        "meta": {"dlq_max_message_age_seconds": 60, "dlq_age_alarm_seconds": 95.5},
        "sections": {
            "faults": [row("poison", "test_poison", rides_in=7, processed=5, duplicates=1)],
            "dead_letters": [
                row("ingest_events_replay", "test_dlq_replay", rides_in=7, processed=5, duplicates=1),
                row(
                    "dlq_age_alarm", "test_dlq_age_alarm", passed=False, rides_in=7, processed=5, duplicates=1
                ),
            ],
        },
    }
    text = reliability_report.render(results, None)
    assert "## Dead letters: replay and alarms" in text
    assert "| input ingest_events_replay |" in text and "FAIL: broken" in text
    assert "**Totals: 3 cases, 21 rides in" in text and "FAILED: dlq_age_alarm" in text
    assert "threshold the test stack sets to 60 s" in text and "to ALARM: 95.5" in text

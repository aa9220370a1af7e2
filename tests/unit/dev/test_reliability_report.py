"""docs/reliability.md rendering: the dead-letter rows (tests/integration/test_reliability_dlq.py) are listed."""

from wildrydes_dev import reliability_report


def row(rid: str, passed: bool = True) -> dict:
    return {
        "id": rid,
        "input": f"input {rid}",
        "outcome": "outcome",
        "observed": "observed",
        "rides_in": 7,
        "processed": 5,
        "quarantined": 1,
        "whole_file": False,
        "duplicates": 1,
        "doubled": 0,
        "lost": 0,
        "passed": passed,
        "problems": [] if passed else ["broken"],
    }


def test_dead_letter_rows_get_their_own_section_and_count_in_the_totals():
    results = {
        "meta": {"dlq_max_message_age_seconds": 60, "dlq_age_alarm_seconds": 95.5},
        "sections": {
            "faults": [row("poison")],
            "dead_letters": [row("ingest_events_replay"), row("dlq_age_alarm", passed=False)],
        },
    }
    text = reliability_report.render(results, None)
    assert "## Dead letters: replay and alarms" in text
    assert "| input ingest_events_replay |" in text and "FAIL: broken" in text
    assert "**Totals: 3 cases, 21 rides in" in text and "FAILED: dlq_age_alarm" in text
    assert "threshold the test stack sets to 60 s" in text and "to ALARM: 95.5" in text

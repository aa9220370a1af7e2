"""Turn the reliability suite's results into docs/reliability.md, with a checkov summary of the Terraform.

    python -m wildrydes_dev.reliability_report [--results build/reliability/results.json] [--out docs/reliability.md]
                                       [--no-checkov]

The results file is written by tests/integration/test_reliability.py (``make reliability`` runs it, then this).
checkov (the pinned one in the project venv) runs over all Terraform with the repository's .checkov.yaml and
``--skip-download``; passed/failed/skipped are summed over its reports. Exit status 1 when any case failed,
lost a ride, or checkov reported a failed check, so the make target fails with the table still written.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RESULTS = ROOT / "build" / "reliability" / "results.json"
DEFAULT_OUT = ROOT / "docs" / "reliability.md"
CHECKOV = Path(sys.executable).parent / "checkov"
CHECKOV_TIMEOUT_S = 900
SECTIONS = (
    ("bad_input", "Bad ride input"),
    ("faults", "Faults"),
    ("dead_letters", "Dead letters: replay and alarms"),
)
# Sections whose rows carry the ingest invocation's peak RSS and duration (one file each).
MEASURED_SECTIONS = {"bad_input"}
# Checks over the whole bad-input run (no ride counts): one row per test.
CHECKS_SECTION = "checks"


def run_checkov() -> dict:
    """{"passed", "failed", "skipped", "version", "skips": [(id, resource, reason)], "failures": [...]}."""
    version = subprocess.run(
        [str(CHECKOV), "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    proc = subprocess.run(
        [str(CHECKOV), "--config-file", ".checkov.yaml", "--skip-download", "--output", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CHECKOV_TIMEOUT_S,
        check=False,
    )
    if not proc.stdout.strip():
        raise SystemExit(f"checkov printed nothing (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    summary = {"passed": 0, "failed": 0, "skipped": 0, "version": version, "skips": [], "failures": []}
    for report in reports:
        for key in ("passed", "failed", "skipped"):
            summary[key] += report["summary"][key]
        for check in report["results"].get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            summary["skips"].append((check["check_id"], check["resource"], reason))
        for check in report["results"].get("failed_checks", []):
            summary["failures"].append(f"{check['check_id']} {check['resource']} ({check['file_path']})")
    return summary


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _measured(value, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def table(rows: list[dict], measured: bool = False) -> list[str]:
    """Markdown rows; ``measured`` adds the ingest invocation's peak RSS and duration per row."""
    extra_head, extra_rule = (" peak RSS MB | ingest s |", " ---: | ---: |") if measured else ("", "")
    lines = [
        (
            "| # | input or fault | documented outcome | observed | rides in | processed | quarantined / DLQ "
            f"| duplicates dropped | lost |{extra_head} result |"
        ),
        f"| ---: | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |{extra_rule} --- |",
    ]
    for i, row in enumerate(rows, 1):
        quarantined = (
            f"{row['quarantined']:,} (whole file)" if row.get("whole_file") else f"{row['quarantined']:,}"
        )
        result = "pass" if row["passed"] else "FAIL: " + "; ".join(row.get("problems", []))
        lines.append(
            f"| {i} | {_cell(row['input'])} | {_cell(row['outcome'])} | {_cell(row['observed'])} "
            f"| {row['rides_in']:,} | {row['processed']:,} | {quarantined} | {row['duplicates']:,} "
            f"| {row['lost']:,} |"
            + (
                f" {_measured(row.get('peak_rss_mb'), ',')} | {_measured(row.get('seconds'), ',.2f')} |"
                if measured
                else ""
            )
            + f" {_cell(result)} |"
        )
    return lines


def written_by(rows: list[dict]) -> list[str]:
    """The tests that wrote ``rows``, in order (a line under each table; rows map to tests one to one)."""
    tests = list(dict.fromkeys(row["test"] for row in rows if row.get("test")))
    if not tests:
        return []
    return [
        "Rows written by " + ", ".join(f"`{t}`" for t in tests) + " (tests/integration/test_reliability.py).",
        "",
    ]


def checks_table(rows: list[dict]) -> list[str]:
    lines = ["| # | check | test | result |", "| ---: | --- | --- | --- |"]
    for i, row in enumerate(rows, 1):
        result = "pass" if row["passed"] else "FAIL: " + "; ".join(row.get("problems", []))
        lines.append(f"| {i} | {_cell(row['input'])} | `{row.get('test', '?')}` | {_cell(result)} |")
    return lines


def render(results: dict, checkov: dict | None) -> str:
    meta = results.get("meta", {})
    sections = results.get("sections", {})
    all_rows = [row for key, _ in SECTIONS for row in sections.get(key, [])]
    totals = {
        key: sum(row[key] for row in all_rows)
        for key in ("rides_in", "processed", "quarantined", "duplicates", "lost", "doubled")
    }
    checks = sections.get(CHECKS_SECTION, [])
    failed = [row["id"] for row in [*all_rows, *checks] if not row["passed"]]
    out = [
        "# Reliability: bad input and faults on LocalStack",
        "",
        "Generated by `make reliability` (tests/integration/test_reliability.py and test_reliability_dlq.py on",
        "LocalStack, then",
        (
            "`wildrydes_dev/reliability_report.py`); do not edit by hand. Run "
            f"`{meta.get('run', '?')}`, {meta.get('started', '?')} to {meta.get('finished', '?')}."
        ),
        "",
        "Every row is one uploaded file or one injected fault, checked against the outcome docs/design.md",
        "documents. Counts are read back from the bucket: `processed` = distinct rides in `processed/` CSVs,",
        "`quarantined` = lines in `quarantine/` (a rejected file is one line pointing at the raw object, which",
        "stays in `raw/`: all its rides count as quarantined), or messages left in the DLQ for faults;",
        "`duplicates dropped` = repeats of the same ride identity within one file.",
        "**lost = rides in - processed - quarantined - duplicates dropped** and must be 0.",
        "",
        "Bad-input rows also show the ingest invocation that handled the file, from its REPORT log line: `peak",
        "RSS MB` (the executor resets the worker's peak RSS at each invocation, so it is that invocation's) and",
        (
            "`ingest s` (its duration; the longest when the file was handled more than once). The executor's "
            "limits are on:"
        ),
        (
            f"ingest runs with MemorySize {meta.get('ingest_memory_mb', '?')} MB as a hard memory limit and "
            "MemorySize / 1,769 of a vCPU; a row fails when its peak RSS reached MemorySize."
        ),
        "",
        (
            f"**Totals: {len(all_rows)} cases, {totals['rides_in']:,} rides in, {totals['processed']:,} processed, "
            f"{totals['quarantined']:,} quarantined / in DLQ, {totals['duplicates']:,} duplicates dropped, "
            f"{totals['lost']:,} lost, {totals['doubled']:,} rides written twice, "
            f"{sum(row['passed'] for row in checks)} of {len(checks)} run-wide checks passed; "
            f"{'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}.**"
        ),
        "",
    ]
    for key, title in SECTIONS:
        if sections.get(key):
            out += [f"## {title}", "", *table(sections[key], key in MEASURED_SECTIONS), ""]
            out += written_by(sections[key])
    if checks:
        out += ["## Run-wide checks", "", *checks_table(checks), ""]
    out += [
        "## How the faults are injected",
        "",
        "- The writer function is pointed at a small S3 proxy in the test (`AWS_ENDPOINT_URL_S3`), which answers",
        "  PUTs into one `ride_month=` partition with 503 SlowDown (throttling), 403 AccessDenied (a denied",
        "  prefix) or holds one PUT past the function timeout (the runtime is killed mid-batch). The function's",
        "  configuration is restored afterwards.",
        (
            f"- For the fault test only, the ground-station queue's visibility timeout is lowered to "
            f"{meta.get('fault_visibility_seconds', '?')} s (deployed:"
        ),
        (
            "  6 x the writer timeout) so that each retry takes seconds; maxReceiveCount is the deployed value "
            f"({meta.get('max_receive_count', '?')})."
        ),
        "- Writes are counted twice: by the proxy (PUTs per key) and by the bucket's object versions, so",
        '  "written once" means one version.',
        "- The DLQ alarm is evaluated by LocalStack itself (SQS reports queue depth to CloudWatch every 60 s;",
        "  the 60 s alarm is evaluated once per period), so its state is observed, not set. Seconds from the",
        f"  DLQ's first message to the check: {meta.get('alarm_seconds_after_dlq_not_empty', '?')}.",
        "- Dead letters (tests/integration/test_reliability_dlq.py): ingest is broken by pointing it at a queue that",
        "  does not exist, so the S3 event of an uploaded file fails and, after Lambda's retries, lands in the",
        "  ingest-events DLQ; the configuration is restored and `wildrydes redrive` replays it. LocalStack 4.14",
        "  publishes no `ApproximateAgeOfOldestMessage` (only message counts), so the test publishes it itself",
        "  (put_metric_data, the measured age of the DLQ's oldest message, as SQS does) against the deployed age",
        (
            f"  alarm, whose threshold the test stack sets to {meta.get('dlq_max_message_age_seconds', '?')} s "
            "(`dlq_max_message_age_seconds`; default one day); LocalStack evaluates the alarm and notifies the"
        ),
        (
            "  alarm topic, which a queue subscribed to it receives. Seconds from the DLQ message to ALARM: "
            f"{meta.get('dlq_age_alarm_seconds', '?')}."
        ),
        f"- Large file: {meta.get('large_rides', 0):,} records (`make test` uses 20,000 to stay within its time",
        (
            "  budget on 2 cores; `make reliability` uses 1,000,000). Pipeline time for all bad-input files: "
            f"{meta.get('bad_input_pipeline_seconds', '?')} s."
        ),
        "- Not covered here: the inference API's bad payloads (tests/integration/test_inference_api.py) and",
        "  IAM least privilege (tests/terraform/). Duplicates are dropped within one file, not across files",
        "  (docs/design.md).",
        "",
    ]
    out += ["## checkov", ""]
    if checkov is None:
        out += ["Not run (`--no-checkov`).", ""]
    else:
        out += [
            (
                f"`{checkov['version'] or 'checkov'}` over all Terraform (`.checkov.yaml`, `--skip-download`): "
                f"**{checkov['passed']} passed, {checkov['failed']} failed, {checkov['skipped']} skipped** "
                "(each skip carries its reason in the code, next to the resource)."
            ),
            "",
        ]
        if checkov["failures"]:
            out += ["Failed checks:", "", *[f"- {f}" for f in checkov["failures"]], ""]
        if checkov["skips"]:
            out += ["| skipped check | resource | reason |", "| --- | --- | --- |"]
            out += [
                f"| {cid} | {_cell(res)} | {_cell(reason)} |" for cid, res, reason in sorted(checkov["skips"])
            ]
            out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-checkov", action="store_true", help="leave out the checkov summary")
    args = parser.parse_args(argv)
    if not args.results.is_file():
        print(f"error: {args.results} not found: run the suite first (`make reliability`)", file=sys.stderr)
        return 2
    results = json.loads(args.results.read_text())
    checkov = None if args.no_checkov else run_checkov()
    args.out.write_text(render(results, checkov))
    rows = [row for key, _ in SECTIONS for row in results.get("sections", {}).get(key, [])]
    checks = results.get("sections", {}).get(CHECKS_SECTION, [])
    bad = [row["id"] for row in rows if not row["passed"] or row["lost"]]
    bad += [row["id"] for row in checks if not row["passed"]]
    print(
        f"wrote {args.out}: {len(rows)} cases, {sum(r['lost'] for r in rows)} lost"
        + (
            f", checkov {checkov['passed']}/{checkov['failed']}/{checkov['skipped']} passed/failed/skipped"
            if checkov
            else ""
        )
    )
    if bad or (checkov and checkov["failed"]):
        print(
            f"error: failing cases {bad}, checkov failed {checkov['failed'] if checkov else 0}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

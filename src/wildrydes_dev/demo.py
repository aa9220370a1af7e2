#!/usr/bin/env python3
"""`make demo`: the whole wildrydes-ml mission on one machine, in one command.

Starts LocalStack + the moto server (through the Makefile's localstack targets), applies the whole root
Terraform to them, generates rides and weather, uploads them, waits (with a progress bar) until every ride
is accounted for in processed/ or quarantine/, reduces the weather with DuckDB, trains with the local
trainer, publishes the model and calls the live API Gateway endpoint with the API key. The LAST line printed
is the endpoint's JSON answer to the sample payload, so scripts (and tests/integration/test_demo.py) can
read it with `tail -n 1`.

`make demo RIDES=path/to/rides.json` (``--rides-file``) runs the same stages on the user's own ride file
instead of generated rides: the file is uploaded as it is (any format ingest accepts: JSON list,
{"travel_data": [...]}, NDJSON, optionally gzipped), `wildrydes generate --rides 0` makes weather for the
whole years its rides span, and the report says there is no ground truth (so no Bayes-optimal AUC). The
model trained on a user's file is promoted whatever the quality gate says (`--force`, recorded in the
version's metadata), so the endpoint always has a model to serve.

Idempotent: a second run reuses the running emulators and the applied stack, re-uploads the same
deterministic files (the pipeline overwrites instead of duplicating) and trains the same model.
`python -m wildrydes_dev.demo --down` (make demo-down) stops what the demo started and removes its state.

Runs on the project venv (.venv); only the standard library plus boto3 is imported here (and, to read a
user's ride file the way ingest does, the ETL package's streaming reader), everything else is called as
the `wildrydes` command or a make target, exactly as a user would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
DEFAULT_PORT = 4566
# The workshop's curl payload: 30 miles, TMAX 33.3 degC, TMIN 30.0 degC, 10 mm of rain (GHCN units).
# A short ride on a cold, wet January day (GHCN units: tenths of degC and mm), where magic per mile is
# high: it shows a probability worth reading. The workshop's 30-mile payload scores ~1e-11 (long
# rides are light per mile) and is what tests/integration/test_inference_api.py sends.
SAMPLE_PAYLOAD = {"distance": 1.2, "TMAX": 40, "TMIN": -20, "PRCP": 120}
DEFAULT_RIDES = 10_000
DEFAULT_SEED = 7
# One ride file: ingest packs rides of one date per message, so the message count (and the local ETL time)
# grows with dates x files, not with rides.
RIDE_FILES = 1
# LocalStack runs ONE poller per event source mapping and it waits the whole batching window for every
# batch (AWS scales pollers out), so the default 1 s window caps the local ETL at ~10 messages/s. The demo
# applies the stack with no window (and, as LocalStack 4.x validates every content type against the API's
# application/json model, no API Gateway body validation): wildrydes_dev/tf_local.py's local defaults.
# Seconds to wait for the pipeline to account for every uploaded ride before giving up.
PIPELINE_TIMEOUT_S = 600
POLL_INTERVAL_S = 1.0
PROGRESS_BAR_WIDTH = 40
# Prefix in the data bucket that stands in for the NOAA open-data bucket (same layout as noaa-ghcn-pds).
GHCN_SOURCE_PREFIX = "ghcn/"
RAW_PREFIX = "raw/"
PROCESSED_PREFIX = "processed/"
QUARANTINE_PREFIX = "quarantine/"
MANIFEST_PREFIX = "manifests/"
WEATHER_PREFIX = "nygroundstationdata/"
POINTER_KEY = "models/linear-learner/serving.json"  # names the version that serves (wildrydes models)
VERSIONS_PREFIX = "models/linear-learner/versions/"
HTTP_TIMEOUT_S = 60


class DemoError(Exception):
    """A failure the user can act on: printed as one line (with the hint), exit code 1."""


# ---------------------------------------------------------------------------- settings and output
@dataclass
class Settings:
    port: int
    moto_port: int
    rides: int
    seed: int
    state_dir: Path
    quiet_progress: bool
    # No variables of its own: the demo applies the same stack with the same values as `make local-apply`
    # (wildrydes_dev/tf_local.py's local defaults: per-port bucket name, no batching window), so the two
    # share one state and either may follow the other on a port.
    tf_vars: dict[str, str] = field(default_factory=dict)
    # Only for a stack apart from local-apply's (bench): its own bucket name; None = the shared stack's.
    bucket_name_prefix: str | None = None
    # The user's own ride file (make demo RIDES=...); None = generated rides.
    rides_file: Path | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def moto_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def started_marker(self) -> Path:
        return self.state_dir / "started-emulators"

    @property
    def make_vars(self) -> list[str]:
        return [f"LOCALSTACK_PORT={self.port}", f"MOTO_PORT={self.moto_port}"]

    def aws_env(self) -> dict[str, str]:
        """Environment that sends every AWS SDK call (boto3, Terraform, DuckDB helpers) to the emulators."""
        env = dict(os.environ)
        env.update(_localaws_env(self.port, self.moto_port))
        env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONUNBUFFERED"] = "1"
        return env


def _localaws_env(port: int, moto_port: int) -> dict[str, str]:
    """wildrydes_dev/localaws.py's subprocess environment: test credentials + per-service emulator endpoints."""
    from wildrydes_dev import localaws

    return localaws.subprocess_env(port, moto_port)


def say(msg: str = "") -> None:
    print(msg, flush=True)


class Stage:
    """Prints `[n/N] name  where ...` and, on exit, the elapsed seconds; records them for the summary."""

    TOTAL = 9

    def __init__(self, settings: Settings, number: int, name: str, where: str):
        self.settings, self.number, self.name, self.where = settings, number, name, where

    def __enter__(self) -> Stage:  # noqa: PYI034 (a final class; Self adds nothing)
        self.start = time.monotonic()
        say(f"\n[{self.number}/{self.TOTAL}] {self.name:<18} runs on: {self.where}")
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        elapsed = time.monotonic() - self.start
        self.settings.timings[self.name] = elapsed
        if exc_type is None:
            say(f"      done in {elapsed:.1f} s")


def run(cmd: list[str], settings: Settings, *, capture: bool = False, hint: str = "") -> str:
    """Run a command from the repo root with the emulator environment; fail with its output on error."""
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        env=settings.aws_env(),
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-25:])
        raise DemoError(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}"
            + (f"\nhint: {hint}" if hint else "")
        )
    if not capture:
        for line in proc.stdout.strip().splitlines()[-6:]:
            say(f"      | {line}")
    return proc.stdout


def wildrydes(args: list[str], settings: Settings, **kw) -> str:
    return run([str(VENV_BIN / "wildrydes"), *args], settings, **kw)


# ---------------------------------------------------------------------------- stages
def emulators_running(settings: Settings) -> bool:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wildrydes_dev.emulators",
            "status",
            "--port",
            str(settings.port),
            "--moto-port",
            str(settings.moto_port),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode == 0


def start_emulators(settings: Settings) -> bool:
    """Start LocalStack + moto unless this port's pair already runs; True when freshly started."""
    with Stage(
        settings,
        1,
        "emulators",
        f"LocalStack 4.14.0 host mode {settings.endpoint} (S3, SQS, Lambda, "
        f"API Gateway, IAM, Logs) + moto {settings.moto_endpoint} (Athena, Glue, SageMaker)",
    ):
        if emulators_running(settings):
            say(f"      reusing the emulators already running on {settings.port}/{settings.moto_port}")
            return False
        run(
            ["make", "--no-print-directory", "localstack-up", *settings.make_vars],
            settings,
            hint="see README 'Troubleshooting' (python3.13, port in use, executor not active)",
        )
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        settings.started_marker.write_text(
            "the demo started the emulators on this port; demo-down stops them\n"
        )
        return True


def apply_terraform(settings: Settings) -> dict:
    """Apply the whole root module to this port's emulators (wildrydes_dev/tf_local.py, the engine of `make
    local-apply`; state in build/tf-local/<port>/), with local_endpoint set so the API URL needs no DNS."""
    tf_local = [sys.executable, "-m", "wildrydes_dev.tf_local"]
    ports = ["--port", str(settings.port), "--moto-port", str(settings.moto_port)]
    with Stage(
        settings,
        2,
        "terraform apply",
        "Terraform -> LocalStack (S3, SQS, Lambda, API Gateway, IAM, Logs) "
        "+ moto (Glue, Athena workgroup, SageMaker role): all root modules",
    ):
        tf_vars = dict(settings.tf_vars)
        if settings.bucket_name_prefix:
            tf_vars["data_bucket_name"] = f"{settings.bucket_name_prefix}-{settings.port}"
        var_args = [arg for key, value in tf_vars.items() for arg in ("--var", f"{key}={value}")]
        run(
            [*tf_local, "apply", *ports, *var_args],
            settings,
            hint="stale state? run `make demo-down` and retry",
        )
        outputs = _parse_outputs(run([*tf_local, "outputs", *ports], settings, capture=True))
        say(f"      data bucket: {outputs['data_bucket_name']}   API: {outputs['inference_invoke_url']}")
        say(
            "      local-only settings: sqs_batching_window_seconds=0 (LocalStack's single SQS poller waits the "
            "whole window per batch); the same stack as `make local-apply`"
        )
        return outputs


def _parse_outputs(text: str) -> dict:
    """`terraform output -json` -> {name: value}; tolerates make's chatter around the JSON."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0:
        raise DemoError(f"no JSON in `make local-outputs` output:\n{text[-2000:]}")
    raw = json.loads(text[start : end + 1])
    return {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in raw.items()}


@dataclass(frozen=True)
class DataPlan:
    """What the generate stage makes and what goes to raw/: the generated sample, or the user's file plus
    weather for the years it spans (no ground truth then)."""

    generate_args: list[str]
    marker: str  # file in the data dir that says this plan's data is there already
    user_file: Path | None = None
    weather_window: tuple[dt.date, dt.date] | None = None

    @property
    def has_truth(self) -> bool:
        return self.user_file is None


def ride_span(path: Path) -> tuple[dt.date, dt.date]:
    """First and last day of the rides in a user's file, read as ingest reads it (any accepted format,
    gzip by magic bytes, any key case); rides without a valid StatusTime are skipped (ingest will quarantine
    them). Raises DemoError when the file is not a ride file or holds no dated ride."""
    from wildrydes_lambda.etl.rides import InvalidRide, canonical_statustime
    from wildrydes_lambda.etl.streaming import BadFile, detect_format, iter_records, scan_file

    fmt = detect_format(path.name)
    if fmt is None:
        raise DemoError(
            f"{path}: ingest reads .json, .jsonl or .ndjson files (optionally .gz, any case), not {path.name!r}"
        )
    try:
        with path.open("rb") as fh:
            shape = scan_file(fh, fmt)
        first: dt.date | None = None
        last: dt.date | None = None
        with path.open("rb") as fh:
            for record in iter_records(fh, shape):
                if not isinstance(record, dict):
                    continue
                value = next((v for k, v in record.items() if str(k).lower() == "statustime"), None)
                try:
                    day = dt.date.fromisoformat(canonical_statustime(value)[:10])
                except InvalidRide:
                    continue
                first = day if first is None or day < first else first
                last = day if last is None or day > last else last
    except BadFile as bad:
        raise DemoError(f"{path}: ingest would reject this file: {bad}") from None
    except OSError as exc:
        raise DemoError(f"cannot read {path}: {exc}") from None
    if first is None or last is None:
        raise DemoError(f"{path}: no ride with a valid StatusTime (YYYY-MM-DD HH:MM:SS[.fff])")
    return first, last


def weather_window(first: dt.date, last: dt.date) -> tuple[dt.date, dt.date]:
    """Whole years around the rides' span: GHCN publishes by year, and the weather join needs every day."""
    return dt.date(first.year, 1, 1), dt.date(last.year, 12, 31)


def plan_data(settings: Settings, data_dir: Path) -> DataPlan:
    """The generate stage's command and the files raw/ gets, for the sample or the user's file."""
    if settings.rides_file is None:
        return DataPlan(
            generate_args=[
                "generate",
                "--rides",
                str(settings.rides),
                "--seed",
                str(settings.seed),
                "--files",
                str(RIDE_FILES),
                "--out",
                str(data_dir),
            ],
            marker=f".generated-{settings.rides}-{settings.seed}",
        )
    start, end = weather_window(*ride_span(settings.rides_file))
    return DataPlan(
        generate_args=[
            "generate",
            "--rides",
            "0",
            "--seed",
            str(settings.seed),
            "--start",
            start.isoformat(),
            "--end",
            end.isoformat(),
            "--out",
            str(data_dir),
        ],
        marker=f".weather-{start}-{end}-{settings.seed}",
        user_file=settings.rides_file,
        weather_window=(start, end),
    )


def generate_data(settings: Settings) -> tuple[Path, DataPlan]:
    data_dir = settings.state_dir / "data"
    what = (
        f"local Python (`wildrydes generate`, seed {settings.seed})"
        if settings.rides_file is None
        else f"local Python (`wildrydes generate --rides 0`: weather only, for {settings.rides_file.name})"
    )
    with Stage(settings, 3, "generate", what):
        plan = plan_data(settings, data_dir)
        if plan.weather_window:
            start, end = plan.weather_window
            say(f"      your rides span {start.year}..{end.year}: weather for {start} .. {end}")
        marker = data_dir / plan.marker
        if marker.exists():
            say(f"      reusing {data_dir.relative_to(ROOT)} (same data and seed)")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
            wildrydes(plan.generate_args, settings)
            marker.touch()
    return data_dir, plan


def upload_files(data_dir: Path, plan: DataPlan) -> list[Path]:
    """The ride files that go to raw/: the user's file, or the generated ones."""
    return [plan.user_file] if plan.user_file is not None else ride_files(data_dir)


def ride_files(data_dir: Path) -> list[Path]:
    """The generated ride files: JSON files that are not ground truth (truth never goes to raw/)."""
    files = sorted(p for p in (data_dir / "rides").glob("*.json") if p.is_file())
    if not files:
        raise DemoError(f"`wildrydes generate` wrote no ride .json files under {data_dir}")
    return files


def weather_files(data_dir: Path) -> list[Path]:
    """Generated GHCN files (csv/by_year and/or parquet/by_year, as on noaa-ghcn-pds)."""
    rides = set((data_dir / "rides").glob("*.json"))
    return sorted(
        p
        for p in data_dir.rglob("*")
        if p.is_file()
        and p not in rides
        and p.suffix in {".csv", ".parquet", ".gz"}
        and "truth" not in p.name
        and ("by_year" in p.parts or "ghcn" in str(p.relative_to(data_dir)).lower())
    )


def weather_source_key(data_dir: Path, path: Path) -> str:
    """Key under ghcn/ that keeps the open-data layout (csv/by_year/..., parquet/by_year/...)."""
    rel = path.relative_to(data_dir).parts
    for anchor in ("csv", "csv.gz", "parquet"):
        if anchor in rel:
            return GHCN_SOURCE_PREFIX + "/".join(rel[rel.index(anchor) :])
    return GHCN_SOURCE_PREFIX + "/".join(rel)


def upload(settings: Settings, s3, bucket: str, data_dir: Path, rides: list[Path]) -> tuple[list[str], float]:
    with Stage(
        settings, 4, "upload", f"boto3 -> LocalStack S3 s3://{bucket}/{RAW_PREFIX} and /{GHCN_SOURCE_PREFIX}"
    ):
        weather = weather_files(data_dir)
        for path in weather:
            s3.upload_file(str(path), bucket, weather_source_key(data_dir, path))
        say(f"      {len(weather)} GHCN file(s) -> s3://{bucket}/{GHCN_SOURCE_PREFIX}")
        # Uploaded last: each raw/ object fires the ingest function at once.
        started = time.time()
        keys = []
        for path in rides:
            key = RAW_PREFIX + path.name
            s3.upload_file(str(path), bucket, key)
            keys.append(key)
        names = ", ".join(k[len(RAW_PREFIX) :] for k in keys)
        say(f"      {len(keys)} ride file(s) -> s3://{bucket}/{RAW_PREFIX}: {names}")
    return keys, started


@dataclass
class Counts:
    rides_in: int = 0
    valid: int = 0
    duplicates: int = 0
    quarantined_by_ingest: int = 0
    processed: int = 0
    quarantined: int = 0
    heavy: int = 0
    manifests: int = 0

    def holds(self, files: int) -> bool:
        """The count invariant of docs/design.md, over every uploaded file."""
        return (
            self.manifests == files
            and self.processed == self.valid
            and self.rides_in == self.processed + self.quarantined + self.duplicates
        )


class BucketCounter:
    """Counts rides in manifests/, processed/ and quarantine/; re-reads an object only when its ETag changes."""

    def __init__(self, s3, bucket: str):
        self.s3, self.bucket = s3, bucket
        self._cache: dict[str, tuple[str, object]] = {}

    def _objects(self, prefix: str):
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def _read(self, obj, parse):
        key, etag = obj["Key"], obj["ETag"]
        hit = self._cache.get(key)
        if hit and hit[0] == etag:
            return hit[1]
        body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode("utf-8")
        value = parse(body)
        self._cache[key] = (etag, value)
        return value

    @staticmethod
    def _csv_counts(body: str) -> tuple[int, int]:
        lines = [line for line in body.splitlines() if line.strip()]
        if not lines:
            return 0, 0
        header = lines[0].split(",")
        col = header.index("heavy_utilization") if "heavy_utilization" in header else None
        heavy = sum(1 for line in lines[1:] if col is not None and line.split(",")[col].strip() == "1")
        return len(lines) - 1, heavy

    def count(self, raw_keys: list[str], since: float) -> Counts:
        c = Counts()
        for key in raw_keys:
            mkey = MANIFEST_PREFIX + key + ".json"
            try:
                head = self.s3.head_object(Bucket=self.bucket, Key=mkey)
            except self.s3.exceptions.ClientError:
                continue
            if head["LastModified"].timestamp() < since - 5:
                continue  # a manifest from an earlier run: wait for this run's
            m = self._read({"Key": mkey, "ETag": head["ETag"]}, json.loads)
            c.manifests += 1
            c.rides_in += int(m.get("rides_in", 0))
            c.valid += int(m.get("valid", 0))
            c.duplicates += int(m.get("duplicates", 0))
            c.quarantined_by_ingest += int(m.get("quarantined", 0))
        for obj in self._objects(PROCESSED_PREFIX):
            if obj["Key"].endswith(".csv"):
                rows, heavy = self._read(obj, self._csv_counts)
                c.processed += rows
                c.heavy += heavy
        for obj in self._objects(QUARANTINE_PREFIX):
            c.quarantined += self._read(obj, lambda b: sum(1 for line in b.splitlines() if line.strip()))
        return c


def progress_line(c: Counts, expected: int, elapsed: float) -> str:
    done = c.processed + c.quarantined + c.duplicates
    total = max(expected, c.rides_in, 1)
    frac = min(done / total, 1.0)
    filled = int(frac * PROGRESS_BAR_WIDTH)
    bar = "#" * filled + "-" * (PROGRESS_BAR_WIDTH - filled)
    rate = done / elapsed if elapsed > 0 else 0.0
    return (
        f"      [{bar}] {done:>7,}/{total:,} rides  processed {c.processed:,}  quarantined "
        f"{c.quarantined:,}  duplicates {c.duplicates:,}  {rate:,.0f} rides/s"
    )


def wait_for_pipeline(settings: Settings, s3, bucket: str, raw_keys: list[str], since: float) -> Counts:
    with Stage(
        settings,
        5,
        "ETL pipeline",
        "LocalStack: S3 -> ingest Lambda -> SQS -> enrich Lambda -> SQS -> "
        "writer Lambda -> S3 (functions run as local Python 3.13 processes)",
    ):
        counter = BucketCounter(s3, bucket)
        deadline = time.monotonic() + PIPELINE_TIMEOUT_S
        tty = sys.stdout.isatty() and not settings.quiet_progress
        last_print = 0.0
        while True:
            c = counter.count(raw_keys, since)
            elapsed = time.time() - since
            line = progress_line(c, settings.rides, elapsed)
            if tty:
                sys.stdout.write("\r" + line)
                sys.stdout.flush()
            elif time.monotonic() - last_print > 5 or c.holds(len(raw_keys)):
                say(line)
                last_print = time.monotonic()
            if c.holds(len(raw_keys)) and c.rides_in > 0:
                break
            if time.monotonic() > deadline:
                raise DemoError(
                    f"pipeline did not account for every ride within {PIPELINE_TIMEOUT_S} s: {c}. "
                    "Check the DLQs (`wildrydes redrive`) and the function logs."
                )
            time.sleep(POLL_INTERVAL_S)
        if tty:
            say()
        say(
            f"      count invariant holds: rides in {c.rides_in:,} = processed {c.processed:,} + quarantined "
            f"{c.quarantined:,} + duplicates {c.duplicates:,}  ({c.rides_in / max(elapsed, 1e-9):,.0f} rides/s)"
        )
    return c


def reduce_weather(settings: Settings, bucket: str) -> None:
    with Stage(
        settings, 6, "weather reduce", "DuckDB in this process's venv (the same sql/ Athena runs on AWS)"
    ):
        wildrydes(
            [
                "weather",
                "reduce",
                "--engine",
                "duckdb",
                "--source",
                f"s3://{bucket}/{GHCN_SOURCE_PREFIX}",
                "--out",
                f"s3://{bucket}/{WEATHER_PREFIX}",
            ],
            settings,
        )


def train(settings: Settings, bucket: str, data_dir: Path, plan: DataPlan) -> dict:
    """Train with the local engine on processed/ + nygroundstationdata/, publish, return the report summary."""
    report_dir = settings.state_dir / "report"
    with Stage(
        settings,
        7,
        "train + publish",
        "local trainer (scikit-learn, writes SageMaker's Linear Learner "
        f"artifact) -> s3://{bucket}/{VERSIONS_PREFIX}<version>/, gate, {POINTER_KEY}",
    ):
        args = [
            "train",
            "--engine",
            "local",
            "--rides",
            f"s3://{bucket}/{PROCESSED_PREFIX}",
            "--weather",
            f"s3://{bucket}/{WEATHER_PREFIX}",
            "--out",
            str(settings.state_dir / "model"),
            "--publish",
            f"s3://{bucket}",
            "--report-dir",
            str(report_dir),
        ]
        truth = sorted(p for p in (data_dir / "truth").glob("*.csv"))
        if plan.has_truth and truth:
            args += ["--truth", str(truth[0])]
        if not plan.has_truth:
            # Whatever the user's rides teach, the endpoint needs a model to serve: the gate's verdict is
            # recorded as forced in the version's metadata (wildrydes models show).
            args.append("--force")
            say(
                "      your file: no ground truth (no Bayes-optimal AUC); promoted whatever the gate says (--force)"
            )
        wildrydes(args, settings)
    summary_file = report_dir / "report.json"
    return json.loads(summary_file.read_text()) if summary_file.exists() else {}


def call_api(url: str, api_key: str, payload: dict) -> tuple[int, str]:
    req = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "x-api-key": api_key},
    )
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def curl_command(url: str, api_key: str, payload: dict) -> str:
    return (
        f"curl -s -X POST '{url}' -H 'Content-Type: application/json' -H 'x-api-key: {api_key}' "
        f"-d '{json.dumps(payload)}'"
    )


# ---------------------------------------------------------------------------- main flow
def demo(settings: Settings) -> int:
    t0 = time.monotonic()
    rides = f"your file {settings.rides_file}" if settings.rides_file else f"{settings.rides:,} rides"
    say(
        f"wildrydes-ml demo: {rides}, seed {settings.seed}, LocalStack on {settings.endpoint}, "
        f"state in {settings.state_dir.relative_to(ROOT)}"
    )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / "ports").write_text(f"{settings.port} {settings.moto_port}\n")
    start_emulators(settings)  # Terraform state of an earlier instance is set aside by tf_local itself
    outputs = apply_terraform(settings)
    bucket = outputs["data_bucket_name"]
    import boto3  # the project venv has it; imported late so `--help` works anywhere

    env = settings.aws_env()
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.endpoint,
        region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    data_dir, plan = generate_data(settings)
    raw_keys, since = upload(settings, s3, bucket, data_dir, upload_files(data_dir, plan))
    counts = wait_for_pipeline(settings, s3, bucket, raw_keys, since)
    reduce_weather(settings, bucket)
    summary = train(settings, bucket, data_dir, plan)
    version = json.loads(s3.get_object(Bucket=bucket, Key=POINTER_KEY)["Body"].read())["model_version"]
    model_key = f"{VERSIONS_PREFIX}{version}/model.tar.gz"
    metadata_key = f"{VERSIONS_PREFIX}{version}/metadata.json"
    metadata = json.loads(s3.get_object(Bucket=bucket, Key=metadata_key)["Body"].read())

    url, key = outputs["inference_invoke_url"], outputs["inference_api_key"]
    with Stage(
        settings, 8, "local predict", "`wildrydes predict` (the inference function's code, in-process)"
    ):
        local = (
            wildrydes(
                ["predict", "--model", f"s3://{bucket}/{model_key}", json.dumps(SAMPLE_PAYLOAD)],
                settings,
                capture=True,
            )
            .strip()
            .splitlines()[-1]
        )
        say(f"      {local}")
    with Stage(
        settings,
        9,
        "live endpoint",
        f"LocalStack API Gateway (REST, stage prod, API key) -> inference Lambda {url}",
    ):
        status, body = call_api(url, key, SAMPLE_PAYLOAD)
        if status != 200:
            raise DemoError(f"the endpoint answered HTTP {status}: {body}")
        answer = json.loads(body)

    total = time.monotonic() - t0
    validation = summary.get("validation") or metadata.get("metrics", {}).get("validation", {})
    say("\n=== summary " + "=" * 60)
    say(f"rides uploaded         {counts.rides_in:,} in {len(raw_keys)} file(s)")
    say(
        f"rides processed        {counts.processed:,} (heavy utilization: {counts.heavy:,} = "
        f"{counts.heavy / max(counts.processed, 1):.1%}; light: {counts.processed - counts.heavy:,})"
    )
    say(f"rides quarantined      {counts.quarantined:,}   duplicates dropped: {counts.duplicates:,}")
    say(f"model                  {metadata.get('model_version')}  features {metadata.get('features')}")
    say(quality_line(validation, summary, plan))
    report_dir = settings.state_dir / "report"
    plots = sorted(str(p.relative_to(ROOT)) for p in report_dir.glob("*.png")) if report_dir.exists() else []
    if (report_dir / "report.md").exists():
        plots.insert(0, str((report_dir / "report.md").relative_to(ROOT)))
    say(f"report + plots         {', '.join(plots) if plots else '(none found)'}")
    say(f"local prediction       {local}")
    say("stage times (s)        " + ", ".join(f"{k} {v:.1f}" for k, v in settings.timings.items()))
    say(f"total time             {total:.1f} s")
    say("try it yourself:")
    say("  " + curl_command(url, key, SAMPLE_PAYLOAD))
    say(
        f"stop everything:       make demo-down{'' if settings.port == DEFAULT_PORT else f' DEMO_PORT={settings.port}'}"
    )
    (settings.state_dir / "last-run.json").write_text(
        json.dumps(
            {
                "total_s": total,
                "stages_s": settings.timings,
                "rides": counts.__dict__,
                "answer": answer,
                "invoke_url": url,
                "bucket": bucket,
                "model_version": metadata.get("model_version"),
                "rides_file": str(settings.rides_file) if settings.rides_file else None,
                "ground_truth": plan.has_truth,
            },
            indent=2,
        )
    )
    say(json.dumps(answer, separators=(",", ":")))
    return 0


def quality_line(validation: dict, summary: dict, plan: DataPlan) -> str:
    """The summary's model-quality line: against the Bayes-optimal AUC for generated rides; a user's file
    has no ground truth, so none is claimed."""
    tail = (
        f"Brier {_fmt(validation, 'brier')}, accuracy {_fmt(validation, 'accuracy_at_threshold')} on "
        f"{validation.get('rows', '?')} held-out rides"
    )
    if not plan.has_truth:
        return (
            f"held-out AUC           {_fmt(validation, 'roc_auc')} (no ground truth exists for your file, so "
            f"no Bayes-optimal AUC to compare with), {tail}"
        )
    return (
        f"held-out AUC           {_fmt(validation, 'roc_auc')} vs Bayes-optimal AUC "
        f"{_fmt(summary, 'bayes_optimal_auc')} (the best any model can do on these rows; gap "
        f"{_fmt(summary, 'auc_gap')}), {tail}"
    )


def _fmt(values: dict, name: str) -> str:
    value = values.get(name)
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"


def emulator_state_dirs(settings: Settings) -> list[Path]:
    """Per-port state the demo's targets create: emulator state (wildrydes_dev/emulators.py) and Terraform state
    (wildrydes_dev/tf_local.py), both keyed by the LocalStack port."""
    return [
        ROOT / "build" / "localstack" / str(settings.port),
        ROOT / "build" / "tf-local" / str(settings.port),
    ]


def down(settings: Settings) -> int:
    """Stop the emulators the demo started (make localstack-down kills by PID) and remove all demo state."""
    if not settings.started_marker.exists() and emulators_running(settings):
        say(
            f"the emulators on {settings.port}/{settings.moto_port} were not started by the demo: leaving them "
            f"running (stop them with `make localstack-down LOCALSTACK_PORT={settings.port}`)"
        )
        shutil.rmtree(settings.state_dir, ignore_errors=True)
        return 0
    if not emulators_running(settings):
        removed = [p for p in (settings.state_dir, *emulator_state_dirs(settings)) if p.exists()]
        for path in removed:
            shutil.rmtree(path)
        say(
            f"demo-down: nothing running on {settings.port}/{settings.moto_port} (already down)"
            + (f"; removed {', '.join(str(p.relative_to(ROOT)) for p in removed)}" if removed else "")
        )
        return 0
    say(f"stopping LocalStack {settings.endpoint} + moto {settings.moto_endpoint} and removing demo state")
    proc = subprocess.run(
        ["make", "--no-print-directory", "localstack-down", *settings.make_vars],
        cwd=ROOT,
        env=settings.aws_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    say("      " + (proc.stdout.strip().splitlines() or [""])[-1])
    if proc.returncode != 0:
        print(proc.stderr.strip(), file=sys.stderr)
        return proc.returncode
    for path in (settings.state_dir, *emulator_state_dirs(settings)):
        if path.exists():
            shutil.rmtree(path)
            say(f"      removed {path.relative_to(ROOT)}")
    say("demo stopped; nothing of it is left running")
    return 0


def parse_args(argv: list[str] | None) -> Settings:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("DEMO_PORT", DEFAULT_PORT)),
        help="LocalStack port (env DEMO_PORT; moto uses port+1)",
    )
    p.add_argument("--rides", type=int, default=int(os.environ.get("DEMO_RIDES", DEFAULT_RIDES)))
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument(
        "--rides-file",
        type=Path,
        help="your own ride file instead of generated rides (make demo RIDES=path)",
    )
    p.add_argument("--no-progress-bar", action="store_true", help="print progress lines instead of a bar")
    p.add_argument("--down", action="store_true", help="stop the demo's emulators and remove its state")
    a = p.parse_args(argv)
    state = ROOT / "build" / "demo" / str(a.port)
    s = Settings(
        port=a.port,
        moto_port=a.port + 1,
        rides=a.rides,
        seed=a.seed,
        state_dir=state,
        quiet_progress=a.no_progress_bar,
    )
    if a.rides_file is not None and not a.down:
        path = Path(a.rides_file).expanduser()
        s.rides_file = (path if path.is_absolute() else Path.cwd() / path).resolve()
        if not s.rides_file.is_file():
            p.error(f"--rides-file {a.rides_file}: no such file")
        s.rides = 0  # unknown until ingest's manifest counts them
    s.down = a.down  # type: ignore[attr-defined]
    return s


def main(argv: list[str] | None = None) -> int:
    settings = parse_args(argv)
    if settings.down:
        return down(settings)
    try:
        return demo(settings)
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

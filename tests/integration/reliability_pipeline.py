"""Reading the deployed pipeline's outputs and injecting faults, for tests/integration/test_reliability.py.

- :class:`Outputs` reads processed/ CSVs (cached by ETag, so polling re-reads only new objects),
  quarantine/ JSON lines and manifests/ straight from the bucket.
- :class:`S3FaultProxy` is a small HTTP proxy in front of LocalStack's S3. The writer function is pointed at it
  (``AWS_ENDPOINT_URL_S3``) for the fault tests; per ``ride_month=`` partition it can answer PUTs with
  503 SlowDown (throttling), 403 AccessDenied (a denied prefix) or hold one PUT until the function times out.
  Everything else is forwarded unchanged, and every PUT is counted per key.
- :class:`Results` collects one row per case for build/reliability/results.json (wildrydes_dev/reliability_report.py).
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import http.server
import io
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS_PATH = ROOT / "build" / "reliability" / "results.json"

PROCESSED_PREFIX = "processed/"
QUARANTINE_PREFIX = "quarantine/"
MANIFEST_PREFIX = "manifests/"
# Column order of processed/ CSVs (docs/design.md "Outputs in the bucket"); written here on purpose, not imported.
CSV_HEADER = [
    "ride_id",
    "name",
    "statustime",
    "latitude",
    "longitude",
    "distance",
    "healthpoints",
    "magicpoints",
    "groundstation",
    "heavy_utilization",
    "station_distance_miles",
    "source_key_hash",
    "source_version",
    "ingested_at",
]
GROUND_STATION_IDS = {"US1NYNY0074", "USW00014732", "USW00094728", "USW00094789"}
_RIDE_ID_RE = re.compile(r"^[0-9a-f]{32}$")


# S3's key limit; a manifest key that would pass it is named by the source key's hash instead (docs/design.md).
S3_MAX_KEY_BYTES = 1024
LONG_KEY_MANIFEST_DIR = "_by-key-hash/"


def manifest_key(source_key: str) -> str:
    """manifests/<source key>.json, or manifests/_by-key-hash/<hash>.json when that is over 1,024 bytes."""
    plain = f"{MANIFEST_PREFIX}{source_key}.json"
    if len(plain.encode("utf-8")) <= S3_MAX_KEY_BYTES:
        return plain
    return f"{MANIFEST_PREFIX}{LONG_KEY_MANIFEST_DIR}{source_key_hash(source_key)}.json"


def source_key_hash(key: str) -> str:
    """quarantine/<hash>/: first 32 hex chars of sha256(source key) (docs/design.md)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def wait_until(predicate, deadline: float, interval: float = 2.0):
    """Poll ``predicate`` until it returns something truthy or the monotonic ``deadline`` passes (then None)."""
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# ------------------------------------------------------------------------------------------- bucket outputs
class Outputs:
    def __init__(self, s3, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self._csv_cache: dict[str, tuple[str, list[tuple[str, str]]]] = {}
        self.bad_rows: list[str] = []

    def _list(self, prefix: str) -> list[dict]:
        objects = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            objects.extend(page.get("Contents", []))
        return objects

    def get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def exists(self, key: str) -> bool:
        return bool(self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1).get("KeyCount"))

    def processed(self, attribute, prefix: str = PROCESSED_PREFIX) -> dict[str, list[tuple[str, str]]]:
        """case -> [(ride_id, object key)] for every processed row that ``attribute(name)`` assigns to a case.

        Rows of other runs are skipped; only (ride_id, key) is kept so a 1M-ride run stays small in memory.
        Malformed rows (header, ride_id, station, label) are recorded in ``self.bad_rows``.
        """
        by_case: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for obj in self._list(prefix):
            key, etag = obj["Key"], obj["ETag"]
            cached = self._csv_cache.get(key)
            if cached is None or cached[0] != etag:
                cached = (etag, self._parse_csv(key, attribute))
                self._csv_cache[key] = cached
            for case, ride_id in cached[1]:
                by_case[case].append((ride_id, key))
        return by_case

    def _parse_csv(self, key: str, attribute) -> list[tuple[str, str]]:
        # The Glue table's OpenCSVSerde rules: quote ", escape \ (no doubled quotes).
        reader = csv.reader(io.StringIO(self.get(key).decode("utf-8")), escapechar="\\", doublequote=False)
        header = next(reader, None)
        if header != CSV_HEADER:
            self.bad_rows.append(f"{key}: header {header}")
            return []
        rows = []
        for cells in reader:
            case = attribute(cells[1]) if len(cells) == len(CSV_HEADER) else None
            if case is None:
                continue
            if (
                not _RIDE_ID_RE.match(cells[0])
                or cells[8] not in GROUND_STATION_IDS
                or cells[9] not in ("0", "1")
            ):
                self.bad_rows.append(f"{key}: {cells[:1] + cells[8:]}")
            rows.append((sys.intern(case), cells[0]))
        return rows

    def manifest(self, source_key: str) -> dict | None:
        try:
            return json.loads(self.get(manifest_key(source_key)))
        except self.s3.exceptions.NoSuchKey:
            return None

    def quarantine_lines(self, source_key: str) -> list[dict]:
        lines = []
        for obj in self._list(f"{QUARANTINE_PREFIX}{source_key_hash(source_key)}/"):
            lines.extend(
                json.loads(line) for line in self.get(obj["Key"]).decode("utf-8").splitlines() if line
            )
        return lines

    def keys(self, prefix: str) -> list[str]:
        return [obj["Key"] for obj in self._list(prefix)]

    def versions(self, key: str) -> int:
        """How many times ``key`` was written (the data bucket is versioned)."""
        listed = self.s3.list_object_versions(Bucket=self.bucket, Prefix=key).get("Versions", [])
        return sum(1 for v in listed if v["Key"] == key)


# ------------------------------------------------------------------------------------------- invocation metrics
_REPORT_RE = re.compile(r"REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms.*Max Memory Used: (\d+) MB")
INGEST_LOG_MESSAGES = ("file ingested", "ingest failed")


@dataclass(frozen=True)
class Invocation:
    seconds: float  # the REPORT line's Duration
    peak_rss_mb: int  # the REPORT line's Max Memory Used (the executor's peak RSS of that invocation)


def invocations_by_key(logs, log_group: str, start_ms: int) -> dict[str, list[Invocation]]:
    """Source key -> the ingest invocations that handled it, from the function's CloudWatch log: the
    handler's JSON lines name the key and the request id, the runtime's REPORT line the duration and peak."""
    keys_of: dict[str, set[str]] = defaultdict(set)
    reports: dict[str, Invocation] = {}
    kwargs: dict[str, Any] = {"logGroupName": log_group, "startTime": start_ms}
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            for event in page.get("events", []):
                message = event["message"]
                report = _REPORT_RE.search(message)
                if report:
                    reports[report[1]] = Invocation(float(report[2]) / 1000, int(report[3]))
                    continue
                try:
                    line = json.loads(message)
                except ValueError:
                    continue
                if isinstance(line, dict) and line.get("message") in INGEST_LOG_MESSAGES:
                    key = (line.get("source") or {}).get("key") or line.get("key")
                    if key and line.get("function_request_id"):
                        keys_of[line["function_request_id"]].add(key)
    except logs.exceptions.ResourceNotFoundException:
        return {}
    by_key: dict[str, list[Invocation]] = defaultdict(list)
    for request_id, keys in keys_of.items():
        if request_id in reports:
            for key in keys:
                by_key[key].append(reports[request_id])
    return by_key


# ------------------------------------------------------------------------------------------- S3 fault proxy
_MONTH_RE = re.compile(r"ride_month=(\d{4}-\d{2})/")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade", "host"}


@dataclass
class Rule:
    """What the proxy does to PUTs into one processed/ride_month= partition (rules keyed by YYYY-MM)."""

    mode: str  # "throttle": 503 SlowDown for the first `count` PUTs per key; "deny": 403 while active;
    #           "hold": keep the first PUT of the `count`-th distinct key open for `hold_seconds`, then 500
    count: int = 0
    hold_seconds: float = 0.0
    active: bool = True


def _s3_error(code: str, message: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>reliability-proxy</RequestId></Error>"
    ).encode()


class S3FaultProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.rules: dict[str, Rule] = {}
        self.put_attempts: Counter[str] = Counter()  # key -> PUTs seen (answered or not)
        self.put_forwarded: Counter[str] = Counter()  # key -> PUTs passed to S3
        self.held: list[str] = []
        self._keys_by_month: dict[str, list[str]] = defaultdict(list)
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    data = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline().strip():
                                pass
                            return data
                        data += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in _HOP_HEADERS and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self) -> None:
                body = self._body()
                path = self.path
                if self.command == "PUT":
                    verdict = proxy._judge_put(path)
                    if verdict is not None:
                        status, code, delay = verdict
                        if delay:
                            time.sleep(delay)
                        self._answer(
                            status,
                            _s3_error(code, "injected by the reliability suite"),
                            [("Content-Type", "application/xml")],
                        )
                        return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                headers["Host"] = f"127.0.0.1:{proxy.upstream_port}"
                headers["Content-Length"] = str(len(body))
                upstream.request(self.command, path, body=body, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                if self.command == "PUT" and 200 <= response.status < 300:
                    with proxy._lock:
                        proxy.put_forwarded[_object_key(path)] += 1
                self._answer(response.status, data, response.getheaders())
                upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="s3-fault-proxy", daemon=True)

    def start(self) -> S3FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _judge_put(self, path: str) -> tuple[int, str, float] | None:
        """(status, error code, delay) to inject for this PUT, or None to forward it."""
        key = _object_key(path)
        match = _MONTH_RE.search(key)
        with self._lock:
            self.put_attempts[key] += 1
            rule = self.rules.get(match.group(1)) if match else None
            if rule is None or not rule.active:
                return None
            if rule.mode == "throttle":
                return (503, "SlowDown", 0.0) if self.put_attempts[key] <= rule.count else None
            if rule.mode == "deny":
                return 403, "AccessDenied", 0.0
            if rule.mode == "hold":
                seen = self._keys_by_month[match.group(1)]
                if key not in seen:
                    seen.append(key)
                if not self.held and seen.index(key) == rule.count - 1:
                    self.held.append(key)
                    return 500, "InternalError", rule.hold_seconds
        return None


def _object_key(path: str) -> str:
    """Object key of a path-style request: /bucket/key?query -> key."""
    without_query = urllib.parse.unquote(path.split("?", 1)[0])  # botocore sends '=' as %3D
    parts = without_query.lstrip("/").split("/", 1)
    return parts[1] if len(parts) == 2 else ""


# ------------------------------------------------------------------------------------------- results
class Results:
    """Rows for docs/reliability.md; written (merged by section) to build/reliability/results.json."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta
        self.sections: dict[str, list[dict]] = {}

    def add(self, section: str, row: dict) -> None:
        """Add a row, naming the test that wrote it (so docs/reliability.md maps rows to tests)."""
        current = os.environ.get("PYTEST_CURRENT_TEST", "")
        test = current.split("::")[-1].split(" ")[0].split("[")[0]
        self.sections.setdefault(section, []).append({**row, "test": test})

    def write(self, path: Path = RESULTS_PATH) -> None:
        """Write this module's sections, keeping the other sections (and meta keys) already in the file: several
        test modules add rows to one results.json (``make reliability`` deletes it before the run)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            earlier = json.loads(path.read_text())
        except (OSError, ValueError):
            earlier = {}
        document = {
            "meta": {**earlier.get("meta", {}), **self.meta},
            "sections": {**earlier.get("sections", {}), **self.sections},
        }
        path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")

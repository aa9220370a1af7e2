"""Scale projection of the ETL from the figures `make bench` measures (docs/benchmarks.md "Planned past one
machine"): requests, cost, Lambda concurrency, SQS throughput and S3 request rates per prefix at 1M, 100M and
1B rides a day on AWS, and which default has to change at which scale.

:func:`project` is pure: a figures dict in, plain data out, so it is unit-tested without an emulator; the
bench measures the figures (LocalStack request log, the functions' REPORT lines, processed/ bytes) and
renders the result with :func:`markdown`.

Prices are public us-east-1 list prices (first pricing tier, x86 Lambda, S3 Standard). This machine has no
internet access: they are the prices as AWS publishes them on its pricing pages, taken on PRICES_CHECKED
from the published lists (S3, SQS and Lambda list prices have been unchanged since 2023); re-check them at
https://aws.amazon.com/s3/pricing/, https://aws.amazon.com/sqs/pricing/ and
https://aws.amazon.com/lambda/pricing/ before quoting a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

PRICES_CHECKED = "2026-12-07"
PRICE_REGION = "us-east-1"
# S3 Standard, https://aws.amazon.com/s3/pricing/: PUT, COPY, POST, LIST requests per 1,000.
S3_PUT_CLASS_PER_1000_USD = 0.005
# S3 Standard: GET, SELECT and all other requests (HEAD included) per 1,000.
S3_GET_CLASS_PER_1000_USD = 0.0004
# S3 Standard storage, first 50 TB per month, per GB-month.
S3_STORAGE_GB_MONTH_USD = 0.023
# SQS standard queue, per million requests (after the free million; first 100 billion a month).
SQS_PER_MILLION_USD = 0.40
# Lambda, https://aws.amazon.com/lambda/pricing/: per million requests and per GB-second (x86, first tier).
LAMBDA_PER_MILLION_REQUESTS_USD = 0.20
LAMBDA_GB_SECOND_USD = 0.0000166667

# S3 APIs by price class: LIST is billed as a PUT-class request, HEAD as a GET-class one.
S3_PUT_CLASS = frozenset(
    {"PutObject", "CopyObject", "PostObject", "ListObjects", "ListObjectsV2", "ListObjectVersions"}
)
S3_GET_CLASS = frozenset({"GetObject", "HeadObject", "SelectObjectContent"})

# Documented limits (AWS docs: S3 "Best practices design patterns: optimizing performance"; Lambda quotas;
# Lambda with SQS "scaling behavior for standard queues").
S3_PUT_PER_S_PER_PREFIX = 3_500
S3_GET_PER_S_PER_PREFIX = 5_500
LAMBDA_ACCOUNT_CONCURRENCY = 1_000  # default concurrent executions per account and region
SQS_ESM_MAX_CONCURRENCY = 1_250  # most concurrent invocations one SQS event source mapping scales to
SQS_MESSAGE_MAX_BYTES = 262_144
LAMBDA_MAX_TIMEOUT_S = 900
LAMBDA_ONE_VCPU_MB = 1_769  # memory at which a function gets one full vCPU
SQS_MAX_BATCH_SIZE = 10_000  # with a batching window; 10 without one

SECONDS_PER_DAY = 86_400
BYTES_PER_GB = 1024**3
MB_PER_GB = 1024
SCALES = (1_000_000, 100_000_000, 1_000_000_000)
# Days of processed data kept: storage cost per day in the steady state is (GB added a day) x this x the
# GB-month price / 30, i.e. for 30 days kept simply GB a day x the GB-month price.
RETENTION_DAYS = 30
DAYS_PER_MONTH = 30
ETL_FUNCTIONS = ("ingest", "enrich", "writer")
# A changed default is sized for twice the projected rate, so the next burst does not hit the limit again.
HEADROOM = 2
# Above this share of the account's concurrency the ETL functions should have reserved concurrency.
RESERVE_ABOVE_SHARE = 0.1


def price_per_request(api: str) -> float:
    """USD per request of `service.Operation` as LocalStack logs it; 0 for APIs that are not billed."""
    service, _, op = api.partition(".")
    if service == "s3":
        if op in S3_PUT_CLASS:
            return S3_PUT_CLASS_PER_1000_USD / 1000
        if op in S3_GET_CLASS:
            return S3_GET_CLASS_PER_1000_USD / 1000
        return 0.0
    if service == "sqs":
        return SQS_PER_MILLION_USD / 1_000_000
    if service == "lambda" and op == "Invoke":
        return LAMBDA_PER_MILLION_REQUESTS_USD / 1_000_000
    return 0.0


@dataclass(frozen=True)
class Defaults:
    """The deployed defaults a scale may outgrow (root variables.tf)."""

    ingest_memory_mb: int = 1024
    ingest_timeout_s: int = 300
    sqs_batch_size: int = 10
    rides_per_message: int = 2500
    reserved_concurrency: int | None = None  # ETL functions: unreserved


@dataclass(frozen=True)
class Figures:
    """What the bench measured for one file shape, per ride (default mode).

    requests_per_ride_by_api: billed requests per ride by `service.Operation` (LocalStack's log);
    objects_per_ride: S3 objects written under processed/ per ride (the busiest prefix's PUTs);
    get_requests_per_ride: S3 GET-class requests per ride (assumed to hit one prefix: conservative);
    messages_per_ride: SQS messages per ride over both queues;
    gb_seconds_per_ride / seconds_per_ride: per ETL function, from the REPORT lines (billed duration x
    memory; duration);
    bytes_stored_per_ride: bytes kept in S3 per ride (raw + processed + manifests + quarantine).
    """

    shape: str
    requests_per_ride_by_api: Mapping[str, float]
    objects_per_ride: float
    get_requests_per_ride: float
    messages_per_ride: float
    gb_seconds_per_ride: Mapping[str, float]
    seconds_per_ride: Mapping[str, float]
    bytes_stored_per_ride: float
    # Rides one ingest invocation handles in a second (a file is read by one invocation).
    ingest_rides_per_s: float = 0.0


@dataclass
class Scale:
    rides_per_day: int
    rides_per_s: float
    requests_per_day: float
    requests_per_day_by_api: dict[str, float]
    cost_per_day_usd: dict[str, float]
    lambda_gb_seconds_per_day: dict[str, float]
    concurrency: dict[str, int]
    sqs_messages_per_s: float
    sqs_requests_per_s: float
    s3_put_per_s_per_prefix: float
    s3_get_per_s_per_prefix: float
    objects_per_day: float
    storage_gb_per_day: float
    changes: list[str] = field(default_factory=list)


def figures_from_dict(d: Mapping) -> Figures:
    """A Figures from its JSON form (results.json's `projection.figures`)."""
    return Figures(**{k: d[k] for k in Figures.__dataclass_fields__ if k in d})


def project(figures: Figures, rides_per_day: int, defaults: Defaults = Defaults()) -> Scale:
    """The ETL at `rides_per_day` on AWS, from figures measured per ride."""
    rate = rides_per_day / SECONDS_PER_DAY
    by_api = {api: n * rides_per_day for api, n in sorted(figures.requests_per_ride_by_api.items())}
    request_cost = sum(n * price_per_request(api) for api, n in by_api.items())
    gb_s = {fn: figures.gb_seconds_per_ride.get(fn, 0.0) * rides_per_day for fn in ETL_FUNCTIONS}
    compute_cost = sum(gb_s.values()) * LAMBDA_GB_SECOND_USD
    storage_gb = figures.bytes_stored_per_ride * rides_per_day / BYTES_PER_GB
    storage_cost = storage_gb * RETENTION_DAYS * S3_STORAGE_GB_MONTH_USD / DAYS_PER_MONTH
    # Little's law: executions in flight = arrival rate x time each ride keeps a function busy.
    concurrency = {fn: math.ceil(rate * figures.seconds_per_ride.get(fn, 0.0)) for fn in ETL_FUNCTIONS}
    concurrency["total"] = sum(concurrency[fn] for fn in ETL_FUNCTIONS)
    sqs_requests = sum(n for api, n in figures.requests_per_ride_by_api.items() if api.startswith("sqs."))
    scale = Scale(
        rides_per_day=rides_per_day,
        rides_per_s=rate,
        requests_per_day=sum(by_api.values()),
        requests_per_day_by_api=by_api,
        cost_per_day_usd={
            "requests": request_cost,
            "lambda_compute": compute_cost,
            "storage": storage_cost,
            "total": request_cost + compute_cost + storage_cost,
        },
        lambda_gb_seconds_per_day=gb_s,
        concurrency=concurrency,
        sqs_messages_per_s=figures.messages_per_ride * rate,
        sqs_requests_per_s=sqs_requests * rate,
        # Live rides of one day fall in one processed/ partition: every processed PUT hits one prefix.
        s3_put_per_s_per_prefix=figures.objects_per_ride * rate,
        s3_get_per_s_per_prefix=figures.get_requests_per_ride * rate,
        objects_per_day=figures.objects_per_ride * rides_per_day,
        storage_gb_per_day=storage_gb,
    )
    scale.changes = changes(figures, scale, defaults)
    return scale


def changes(figures: Figures, scale: Scale, defaults: Defaults) -> list[str]:
    """Which default has to change at this scale, and to what (empty: the defaults hold)."""
    out: list[str] = []
    put_factor = scale.s3_put_per_s_per_prefix / S3_PUT_PER_S_PER_PREFIX
    if put_factor > 1:
        batch = min(math.ceil(defaults.sqs_batch_size * put_factor * HEADROOM), SQS_MAX_BATCH_SIZE)
        out.append(
            f"S3 PUT rate on the processed/ partition {scale.s3_put_per_s_per_prefix:,.0f}/s exceeds "
            f"{S3_PUT_PER_S_PER_PREFIX:,}/s per prefix: raise sqs_batch_size {defaults.sqs_batch_size} -> "
            f"{batch} (with a batching window; rides_per_message {defaults.rides_per_message} is held by "
            f"SQS's {SQS_MESSAGE_MAX_BYTES // 1024} KB message limit) or add a hash prefix under the partition"
        )
    if scale.s3_get_per_s_per_prefix > S3_GET_PER_S_PER_PREFIX:
        out.append(
            f"S3 GET/HEAD rate {scale.s3_get_per_s_per_prefix:,.0f}/s exceeds {S3_GET_PER_S_PER_PREFIX:,}/s "
            "per prefix: spread raw/ uploads over several prefixes"
        )
    total = scale.concurrency["total"]
    if total > LAMBDA_ACCOUNT_CONCURRENCY:
        out.append(
            f"{total:,} concurrent executions exceed the account default of {LAMBDA_ACCOUNT_CONCURRENCY:,}: "
            "request a quota increase and set reserved concurrency on the ETL functions (unreserved by "
            "default) so they cannot starve the inference API"
        )
    elif total > LAMBDA_ACCOUNT_CONCURRENCY * RESERVE_ABOVE_SHARE and defaults.reserved_concurrency is None:
        out.append(
            f"{total:,} concurrent executions: reserve concurrency for the ETL functions (unreserved by "
            "default) so a burst cannot take the account's whole quota from the inference API"
        )
    for fn in ("enrich", "writer"):
        if scale.concurrency[fn] > SQS_ESM_MAX_CONCURRENCY:
            out.append(
                f"{fn} needs {scale.concurrency[fn]:,} concurrent executions, above the "
                f"{SQS_ESM_MAX_CONCURRENCY:,} one SQS event source mapping scales to: raise its memory "
                f"(CPU grows with memory up to {LAMBDA_ONE_VCPU_MB:,} MB) or shard the queue"
            )
    if figures.ingest_rides_per_s > 0:
        per_file = round(figures.ingest_rides_per_s * defaults.ingest_timeout_s)
        if scale.rides_per_day > per_file:
            out.append(
                f"one ingest invocation reads ~{per_file:,} rides within ingest_timeout_seconds "
                f"{defaults.ingest_timeout_s} at ingest_memory_mb {defaults.ingest_memory_mb}: a day's "
                f"{scale.rides_per_day:,} rides must arrive as {math.ceil(scale.rides_per_day / per_file):,}+ "
                f"files, or raise ingest_memory_mb (up to {LAMBDA_ONE_VCPU_MB:,} MB = one vCPU) and the "
                f"timeout (max {LAMBDA_MAX_TIMEOUT_S} s)"
            )
    return out


def project_all(figures: Figures, defaults: Defaults = Defaults()) -> list[Scale]:
    return [project(figures, n, defaults) for n in SCALES]


def price_table() -> list[tuple[str, str]]:
    return [
        ("S3 PUT/COPY/POST/LIST", f"${S3_PUT_CLASS_PER_1000_USD} per 1,000"),
        ("S3 GET/HEAD", f"${S3_GET_CLASS_PER_1000_USD} per 1,000"),
        ("S3 Standard storage", f"${S3_STORAGE_GB_MONTH_USD} per GB-month"),
        ("SQS standard", f"${SQS_PER_MILLION_USD} per million requests"),
        ("Lambda requests", f"${LAMBDA_PER_MILLION_REQUESTS_USD} per million"),
        ("Lambda compute (x86)", f"${LAMBDA_GB_SECOND_USD} per GB-second"),
    ]


def _n(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:,.2f}"


def markdown(figures: Figures, scales: list[Scale]) -> list[str]:
    """The "Planned past one machine" section of docs/benchmarks.md."""
    fns = ", ".join(
        f"{fn} {figures.gb_seconds_per_ride.get(fn, 0.0):.3g} GB-s "
        f"({figures.seconds_per_ride.get(fn, 0.0) * 1000:.3g} ms)"
        for fn in ETL_FUNCTIONS
    )
    lines = [
        "## Planned past one machine: 1M, 100M and 1B rides a day on AWS",
        "",
        (
            f"Projected by `wildrydes_dev/projection.py` from the figures measured above for the "
            f"**{figures.shape}** shape (the default mode's most requests per ride of the three shapes): "
            f"{sum(figures.requests_per_ride_by_api.values()):.4f} billed requests per ride, "
            f"{figures.objects_per_ride:.4f} processed/ objects per ride, {figures.messages_per_ride:.4f} SQS "
            f"messages per ride, {figures.bytes_stored_per_ride:,.0f} bytes stored per ride, Lambda per ride: "
            f"{fns}. Lambda figures come from the functions' REPORT lines (billed duration x configured "
            "memory) on LocalStack's process executor, whose CPU share follows memory as on AWS; this "
            "machine's cores are shared, so they are upper bounds."
        ),
        "",
        (
            f"Prices: public {PRICE_REGION} list prices, first tier, as published, checked {PRICES_CHECKED} "
            "(taken from AWS's published price lists without network access from the bench machine; "
            "re-check before quoting). S3 LIST requests are billed at the PUT price and HEAD at the GET "
            "price; both are counted. Storage: processed data kept "
            f"{RETENTION_DAYS} days (steady state). CloudWatch Logs and metrics are not included."
        ),
        "",
        "| price | USD |",
        "| --- | --- |",
        *[f"| {name} | {value} |" for name, value in price_table()],
        "",
        "| rides/day | rides/s | requests/day | cost/day requests | cost/day Lambda compute | "
        "cost/day storage | cost/day total | GB stored/day |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in scales:
        c = s.cost_per_day_usd
        lines.append(
            f"| {s.rides_per_day:,} | {_n(s.rides_per_s)} | {s.requests_per_day:,.0f} | "
            f"${c['requests']:,.2f} | ${c['lambda_compute']:,.2f} | ${c['storage']:,.2f} | "
            f"${c['total']:,.2f} | {s.storage_gb_per_day:,.2f} |"
        )
    lines += [
        "",
        "| rides/day | concurrent executions ingest / enrich / writer (total) | SQS messages/s | "
        f"SQS requests/s | S3 PUT/s on the partition prefix (limit {S3_PUT_PER_S_PER_PREFIX:,}) | "
        f"S3 GET+HEAD/s per prefix (limit {S3_GET_PER_S_PER_PREFIX:,}) | processed/ objects per day |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in scales:
        k = s.concurrency
        lines.append(
            f"| {s.rides_per_day:,} | {k['ingest']:,} / {k['enrich']:,} / {k['writer']:,} ({k['total']:,}) | "
            f"{_n(s.sqs_messages_per_s)} | {_n(s.sqs_requests_per_s)} | {_n(s.s3_put_per_s_per_prefix)} | "
            f"{_n(s.s3_get_per_s_per_prefix)} | {s.objects_per_day:,.0f} |"
        )
    lines += [
        "",
        (
            "Concurrency is rides/s x seconds of each function per ride (Little's law; batching is already "
            "in the per-ride seconds). Every processed PUT of a day lands in one partition prefix (live rides "
            f"share a month), against S3's documented {S3_PUT_PER_S_PER_PREFIX:,} PUT/s and "
            f"{S3_GET_PER_S_PER_PREFIX:,} GET/s per prefix; SQS standard queues have no documented "
            f"throughput limit, one event source mapping scales to {SQS_ESM_MAX_CONCURRENCY:,} concurrent "
            f"invocations and the account default is {LAMBDA_ACCOUNT_CONCURRENCY:,} concurrent executions."
        ),
        "",
        "Which default has to change:",
        "",
    ]
    for s in scales:
        if s.changes:
            lines += [f"- **{s.rides_per_day:,} rides/day**:"] + [f"  - {c}" for c in s.changes]
        else:
            lines.append(f"- **{s.rides_per_day:,} rides/day**: the defaults hold.")
    lines.append("")
    return lines

"""`wildrydes weather`: reduce GHCN-D to daily TMIN/TMAX/PRCP per ground station, and join it to rides.

``weather reduce`` runs one SQL text (sql/reduce_ghcn_{parquet,csv}.sql) either on Athena or locally on
DuckDB and writes the same CSV (``station_id,date,tmin,tmax,prcp``) either way. ``weather join`` runs
sql/training_join.sql on DuckDB: processed rides LEFT JOIN that weather, reporting rides without weather.

DuckDB reads local files directly. For ``s3://`` sources it cannot use its httpfs extension here (extensions
download from the internet, which is not reachable, and none is bundled), so the objects the query needs are
copied with boto3 into a temporary directory first; for the Parquet layout only the YEAR=/ELEMENT=
partitions wanted are listed and copied, which is the same pruning Athena's partition projection does.
S3 endpoints: boto3's defaults, or AWS_ENDPOINT_URL / --endpoint-url for LocalStack.
"""

from __future__ import annotations

import sys

from botocore.exceptions import BotoCoreError, ClientError

from wildrydes.weather import (
    ATHENA_DEFAULT_DATABASE,
    ATHENA_DEFAULT_WORKGROUP,
    ATHENA_USD_PER_TB,
    DEFAULT_STATIONS,
    DEFAULT_YEARS,
    OUTPUT_FILE_NAME,
    WeatherError,
    format_join,
    format_output,
    join_duckdb,
    normalize_rows,
    parse_s3_uri,
    reduce_athena,
    reduce_duckdb,
    validate_stations,
    validate_years,
    write_text,
    years_from_processed,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "weather", help="GHCN-D reduction (Athena or DuckDB) and the rides-weather join"
    )
    sub = p.add_subparsers(dest="weather_command", required=True, metavar="ACTION")

    r = sub.add_parser(
        "reduce", help="daily TMIN/TMAX/PRCP per ground station -> station_id,date,tmin,tmax,prcp"
    )
    r.add_argument("--engine", choices=("athena", "duckdb"), required=True)
    r.add_argument(
        "--source",
        help="GHCN-D root (dir or s3://bucket/prefix holding csv/ and parquet/); "
        "duckdb only: Athena reads the Glue table's location",
    )
    r.add_argument("--out", required=True, help="output dir, .csv path or s3://bucket/nygroundstationdata/")
    r.add_argument("--stations", nargs="+", default=list(DEFAULT_STATIONS), help="GHCN-D station ids")
    years = r.add_mutually_exclusive_group()
    years.add_argument("--years", nargs="+", type=int, help=f"years to keep (default {DEFAULT_YEARS})")
    years.add_argument(
        "--years-from",
        metavar="PROCESSED",
        help="keep the years the processed rides cover (their ride_month= partitions, dir or s3://)",
    )
    r.add_argument(
        "--layout",
        choices=("parquet", "csv"),
        default="parquet",
        help="parquet (partition-pruned, cheap) or csv (whole-year scans)",
    )
    r.add_argument("--endpoint-url", help="S3 endpoint (LocalStack); AWS_ENDPOINT_URL(_S3) also works")
    r.add_argument(
        "--athena-endpoint-url", help="athena: endpoint (moto); AWS_ENDPOINT_URL_ATHENA also works"
    )
    r.add_argument("--workgroup", default=ATHENA_DEFAULT_WORKGROUP, help="athena: workgroup")
    r.add_argument("--database", default=ATHENA_DEFAULT_DATABASE, help="athena: Glue database")
    r.add_argument("--table", help="athena: GHCN-D table (default ghcn_parquet / ghcn_csv)")
    r.set_defaults(func=_run_reduce)

    j = sub.add_parser(
        "join", help="processed rides LEFT JOIN reduced weather; reports rides without weather"
    )
    j.add_argument("--rides", required=True, help="processed/ dir or s3:// prefix (CSV with header)")
    j.add_argument("--weather", required=True, help="reduced weather CSV, dir or s3:// prefix")
    j.add_argument("--out", required=True, help="output dir, .csv path or s3:// prefix")
    j.add_argument("--endpoint-url", help="S3 endpoint (LocalStack); AWS_ENDPOINT_URL also works")
    j.add_argument("--fail-on-missing", action="store_true", help="exit 1 when any ride has no weather row")
    j.set_defaults(func=_run_join)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run_reduce(args) -> int:
    from wildrydes.errors import CommandError

    try:
        stations = validate_stations(args.stations)
        if args.years_from:
            years = validate_years(years_from_processed(args.years_from, args.endpoint_url))
        else:
            years = validate_years(args.years or DEFAULT_YEARS)
        if args.engine == "duckdb":
            if not args.source:
                raise WeatherError("--source is required with --engine duckdb")
            local_run = reduce_duckdb(args.source, args.layout, stations, years, args.endpoint_url)
            rows = local_run.rows
            fetched = (
                f", copied {local_run.fetched_objects} object(s) / {local_run.fetched_bytes:,} bytes from S3"
                if local_run.fetched_objects
                else ""
            )
            _log(
                f"duckdb: read {local_run.bytes_read:,} bytes "
                f"({args.layout}; files scanned {local_run.files_scanned or 'n/a'})"
                f"{fetched}"
            )
        else:
            if args.source and not parse_s3_uri(args.source):
                raise WeatherError(
                    "--engine athena reads S3 through the Glue table; --source must be s3:// if given"
                )
            import boto3

            # Athena's endpoint is separate from S3's: moto serves it locally (AWS_ENDPOINT_URL_ATHENA works too).
            athena = boto3.client("athena", endpoint_url=args.athena_endpoint_url or None)
            run = reduce_athena(
                athena, args.layout, stations, years, args.database, args.workgroup, args.table, progress=_log
            )
            rows = run.rows
            _log(
                f"athena {run.query_execution_id}: scanned {run.bytes_scanned:,} bytes, "
                f"estimated cost ${run.cost_usd:.6f} (${ATHENA_USD_PER_TB:.0f}/TB, 10 MB minimum)"
            )
        text = format_output(normalize_rows(rows))
        where = write_text(text, args.out, OUTPUT_FILE_NAME, args.endpoint_url)
    except WeatherError as exc:
        raise CommandError(str(exc)) from None
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    print(f"wrote {len(rows)} station-days ({', '.join(stations)}; {', '.join(map(str, years))}) to {where}")
    return 0


def _run_join(args) -> int:
    from wildrydes.errors import CommandError

    try:
        rows, report = join_duckdb(args.rides, args.weather, args.endpoint_url)
        where = write_text(format_join(rows), args.out, "training_join.csv", args.endpoint_url)
    except WeatherError as exc:
        raise CommandError(str(exc)) from None
    except (ClientError, BotoCoreError) as exc:
        raise CommandError(f"cannot write {args.out}: {exc}") from None
    print(f"wrote {len(rows)} rides to {where}")
    _log(("warning: " if report.rides != report.with_weather else "") + report.summary())
    return 1 if args.fail_on_missing and report.rides != report.with_weather else 0

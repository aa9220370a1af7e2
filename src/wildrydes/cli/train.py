"""`wildrydes train`: fit the heavy-utilization model on rides + weather and write a Linear Learner artifact.

Two engines produce the same artifact layout (SageMaker's Linear Learner binary classifier, read by
``wildrydes_lambda.model_format.linear_learner`` and by the inference Lambda):

* ``local``     scikit-learn logistic regression on standardized features; the standardization is folded
                into the saved weights, as SageMaker does with ``normalize_data=true``, so the model takes
                raw features. Same data + seed -> byte-identical ``model.tar.gz``.
* ``sagemaker`` writes the CSV channels to the bucket, runs a Linear Learner training job (boto3 only, no
                SageMaker SDK), waits for it and evaluates the resulting artifact on the same held-out rows.

Only features known when a ride is priced may be used: the label is ``magicpoints > 50 * distance``, so
``magicpoints`` (and anything derived from the label) would just teach the model the rule.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wildrydes.cli.gate_args import add_gate_arguments, add_model_package_argument, gate_config
from wildrydes.training import model_package, report
from wildrydes.training.dataset import (
    DEFAULT_FEATURES,
    DEFAULT_SEED,
    build_dataset,
    load_joined,
    parse_features,
)
from wildrydes.training.gate import GATE_REFUSED_EXIT
from wildrydes.training.local import run_local
from wildrydes.training.publish import (
    POINTER_KEY,
    VERSIONS_PREFIX,
    bucket_of,
    parse_s3_uri,
    publish,
    s3_client,
    write_outputs,
)
from wildrydes.training.registry import ModelRegistry
from wildrydes.training.sagemaker_job import (
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_MAX_RUNTIME_SECONDS,
    DEFAULT_POLL_SECONDS,
    ROLE_ARN_ENV,
    SageMakerSettings,
    run_sagemaker,
)
from wildrydes_lambda.etl.stations import MAX_STATION_DISTANCE_MILES

DEFAULT_REPORT_DIR = Path("build/report")


def _miles(text: str) -> float | None:
    if text.strip().lower() == "none":
        return None
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of miles or 'none'")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the heavy-utilization model (local or SageMaker)",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--engine", choices=("local", "sagemaker"), default="local")
    parser.add_argument(
        "--rides", required=True, help="processed ride CSV tree: directory or s3://bucket/prefix"
    )
    parser.add_argument("--weather", required=True, help="reduced weather CSV tree: directory or s3:// URI")
    parser.add_argument(
        "--out", required=True, help="where model.tar.gz and metadata.json go: dir or s3:// URI"
    )
    parser.add_argument(
        "--features",
        default=",".join(DEFAULT_FEATURES),
        help="comma list, in request order (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the 90/10 split")
    parser.add_argument(
        "--max-station-distance-miles",
        type=_miles,
        default=MAX_STATION_DISTANCE_MILES,
        help="exclude rides farther than this from their ground station (their weather "
        "is not the station's; reported as far_from_station); 'none' keeps all "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--publish",
        metavar="s3://BUCKET",
        help=f"store a new version under {VERSIONS_PREFIX} and, if the quality gate passes, "
        f"point {POINTER_KEY} at it (exit {GATE_REFUSED_EXIT}: stored but refused)",
    )
    parser.add_argument("--truth", help="generator ground truth (for the report's Bayes-optimal AUC)")
    parser.add_argument("--report-dir", type=Path, default=DEFAULT_REPORT_DIR)
    parser.add_argument("--no-report", action="store_true", help="skip the report (plots take a few seconds)")
    sagemaker = parser.add_argument_group("sagemaker engine")
    sagemaker.add_argument("--role-arn", help=f"training execution role (default ${ROLE_ARN_ENV})")
    sagemaker.add_argument("--bucket", help="bucket for the training channels (default: --out's bucket)")
    sagemaker.add_argument("--region", help="AWS region (default: the session's)")
    sagemaker.add_argument("--job-name")
    sagemaker.add_argument("--instance-type", default=DEFAULT_INSTANCE_TYPE)
    sagemaker.add_argument("--max-runtime", type=int, default=DEFAULT_MAX_RUNTIME_SECONDS, help="seconds")
    sagemaker.add_argument("--poll-seconds", type=float, default=DEFAULT_POLL_SECONDS)
    add_gate_arguments(parser)
    add_model_package_argument(parser)
    parser.set_defaults(func=run)


def register_promoted(args: argparse.Namespace, version: str, *, gate_passed: bool) -> None:
    """--publish promoted ``version``: mirror it in the Model Package Group when one is configured."""
    group = model_package.group_name(args.model_package_group)
    if group is None:
        return
    registry = ModelRegistry(s3_client(), bucket_of(args.publish))
    note = "promoted: the quality gate passed" if gate_passed else "promoted past the quality gate (--force)"
    arn = model_package.sync_serving(group, registry.bucket, version, registry.metadata(version), note=note)
    print(f"model package group {group}: {version} approved as {arn}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    features = parse_features(args.features)
    joined = load_joined(args.rides, args.weather)
    dataset = build_dataset(joined, features, args.max_station_distance_miles)
    dropped = {reason: count for reason, count in dataset.excluded.items() if count}
    print(
        f"{len(dataset.y)} rides with weather; excluded {sum(dropped.values())} {dropped or ''}".rstrip(),
        file=sys.stderr,
    )
    if args.engine == "local":
        result = run_local(dataset, args.seed)
    else:
        settings = SageMakerSettings(
            role_arn=args.role_arn,
            region=args.region,
            job_name=args.job_name,
            instance_type=args.instance_type,
            bucket=args.bucket or (parse_s3_uri(args.out)[0] if args.out.startswith("s3://") else None),
            max_runtime=args.max_runtime,
            poll_seconds=args.poll_seconds,
        )
        result = run_sagemaker(dataset, args.seed, settings, log=lambda msg: print(msg, file=sys.stderr))
    for location in write_outputs(args.out, result.artifact, result.metadata):
        print(location)
    exit_code = 0
    if args.publish:
        outcome = publish(args.publish, result, config=gate_config(args), force=args.force)
        for location in outcome.uris:
            print(location)
        print(outcome.verdict.summary(), file=sys.stderr)
        stored = "stored" if outcome.stored else "already stored"
        if outcome.promoted:
            forced = " (FORCED past the gate)" if not outcome.verdict.passed else ""
            print(f"model {outcome.version} {stored} and promoted: it serves now{forced}", file=sys.stderr)
            register_promoted(args, outcome.version, gate_passed=outcome.verdict.passed)
        else:
            print(
                f"model {outcome.version} {stored} but NOT promoted: the gate refused it (the serving "
                f"model is unchanged; `wildrydes models promote {outcome.version} --force` overrides)",
                file=sys.stderr,
            )
            exit_code = GATE_REFUSED_EXIT
    if not args.no_report:
        summary = report.write_report(result, args.report_dir, truth_path=args.truth)
        print(
            f"report: {args.report_dir}/report.md (AUC {summary['validation']['roc_auc']:.4f}"
            + (
                f", Bayes AUC {summary['bayes_optimal_auc']:.4f})"
                if summary.get("bayes_optimal_auc")
                else ")"
            ),
            file=sys.stderr,
        )
    validation = result.metadata["metrics"]["validation"]
    print(
        f"model {result.metadata['model_version']}: validation AUC {validation['roc_auc']:.4f}, "
        f"accuracy {validation['accuracy_at_threshold']:.4f} at threshold {result.model.threshold:.4f}",
        file=sys.stderr,
    )
    return exit_code

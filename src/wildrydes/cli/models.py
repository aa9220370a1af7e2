"""`wildrydes models`: the stored model versions and the serving pointer (S3: AWS, or LocalStack through
AWS_ENDPOINT_URL).

    wildrydes models list     --bucket s3://BUCKET           versions with their held-out metrics; * = serving
    wildrydes models show     --bucket s3://BUCKET [VERSION]  a version's metadata (default: the serving one)
    wildrydes models promote  --bucket s3://BUCKET VERSION [--force] [gate options]
    wildrydes models rollback --bucket s3://BUCKET           back to the previously serving version

``promote`` and ``rollback`` also mirror what serves in a SageMaker Model Package Group when one is named
(``--model-package-group NAME`` or ``$WILDRYDES_MODEL_PACKAGE_GROUP``; training/model_package.py).

``promote`` runs the quality gate (docs/training.md) on the version's own held-out rows against the serving
model and a distance-only baseline; a refusal leaves the pointer alone and exits 3. The bucket defaults to
``$WILDRYDES_DATA_BUCKET``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from wildrydes.cli.gate_args import add_gate_arguments, add_model_package_argument, gate_config
from wildrydes.errors import CommandError
from wildrydes.training import model_package
from wildrydes.training.gate import GATE_REFUSED_EXIT
from wildrydes.training.publish import bucket_of, gate_against_serving, s3_client
from wildrydes.training.registry import ModelRegistry

BUCKET_ENV = "WILDRYDES_DATA_BUCKET"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, show, promote and roll back model versions",
        description=__doc__.split("\n\n")[0],
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=help_text)
        sub.add_argument(
            "--bucket",
            default=os.environ.get(BUCKET_ENV),
            help=f"s3://BUCKET or BUCKET (default ${BUCKET_ENV})",
        )
        return sub

    action("list", "versions with their held-out metrics; * marks the serving one").set_defaults(
        func=run_list
    )
    show = action("show", "a version's metadata (default: the serving version) and the pointer")
    show.add_argument("version", nargs="?")
    show.set_defaults(func=run_show)
    promote = action("promote", "point the API at VERSION if the quality gate passes (or --force)")
    promote.add_argument("version")
    add_gate_arguments(promote)
    add_model_package_argument(promote)
    promote.set_defaults(func=run_promote)
    rollback = action("rollback", "point the API back at the previously serving version")
    add_model_package_argument(rollback)
    rollback.set_defaults(func=run_rollback)


def _registry(args: argparse.Namespace) -> ModelRegistry:
    if not args.bucket:
        raise CommandError(f"--bucket (or ${BUCKET_ENV}) is required")
    return ModelRegistry(s3_client(), bucket_of(args.bucket))


def _metric(metadata: dict, name: str) -> str:
    gate = metadata.get("gate") or {}
    value = (gate.get("candidate") or {}).get(name)
    if value is None:
        value = metadata.get("metrics", {}).get("validation", {}).get(name)
    return "-" if value is None else f"{value:.4f}"


def run_list(args: argparse.Namespace) -> int:
    registry = _registry(args)
    serving = registry.serving_version()
    versions = registry.versions()
    print(f"{'':1} {'version':<18} {'created':<20} {'AUC':>7} {'Brier':>7} {'calib':>7}  gate")
    for stored in versions:
        meta = stored.metadata
        gate = meta.get("gate")
        verdict = "-" if gate is None else ("passed" if gate.get("passed") else "refused")
        if meta.get("forced_promotion"):
            verdict += " (forced)"
        mark = "*" if stored.version == serving else ""
        print(
            f"{mark:1} {stored.version:<18} {str(meta.get('created_at', '-')):<20} "
            f"{_metric(meta, 'roc_auc'):>7} "
            f"{_metric(meta, 'brier'):>7} {_metric(meta, 'calibration_error'):>7}  {verdict}"
        )
    if serving is None:
        print("no version serves yet (no pointer)", file=sys.stderr)
    elif serving not in {v.version for v in versions}:
        print(f"the pointer names {serving}, which is not a stored version", file=sys.stderr)
    return 0


def run_show(args: argparse.Namespace) -> int:
    registry = _registry(args)
    pointer = registry.pointer()
    version = args.version or (pointer or {}).get("model_version")
    if version is None:
        raise CommandError("no version given and none serves yet")
    print(
        json.dumps(
            {
                "version": version,
                "serving": pointer is not None and pointer["model_version"] == version,
                "pointer": pointer,
                "metadata": registry.metadata(version),
            },
            indent=2,
            sort_keys=True,
        )
    )
    return 0


def run_promote(args: argparse.Namespace) -> int:
    registry = _registry(args)
    version = args.version
    metadata = registry.metadata(version)
    verdict = gate_against_serving(
        registry,
        registry.model(version),
        list(metadata["features"]),
        registry.holdout(version),
        gate_config(args),
        candidate_version=version,
    )
    print(verdict.summary(), file=sys.stderr)
    if not verdict.passed and not args.force:
        print(
            f"model {version} NOT promoted: the gate refused it (the serving model is unchanged; --force "
            "overrides)",
            file=sys.stderr,
        )
        return GATE_REFUSED_EXIT
    pointer = registry.promote(version, forced=not verdict.passed, gate=verdict.to_dict())
    forced = " (FORCED past the gate; recorded under the version's promotions/)" if not verdict.passed else ""
    print(f"model {pointer['model_version']} serves now{forced}", file=sys.stderr)
    note = (
        "promoted past the quality gate (--force)"
        if not verdict.passed
        else "promoted: the quality gate passed"
    )
    _register(args, registry, version, metadata, note=note)
    return 0


def _register(
    args: argparse.Namespace,
    registry: ModelRegistry,
    version: str,
    metadata: dict,
    *,
    note: str,
    rolled_back_from: str | None = None,
) -> None:
    """Mirror the serving version in the Model Package Group, when one is configured."""
    group = model_package.group_name(args.model_package_group)
    try:
        arn = model_package.sync_serving(
            group, registry.bucket, version, metadata, note=note, rolled_back_from=rolled_back_from
        )
    except CommandError as exc:
        raise CommandError(
            f"{exc} (model {version} serves: the S3 pointer moved; re-run `wildrydes models promote "
            f"{version}` to register it)"
        ) from None
    if arn is not None:
        print(f"model package group {group}: {version} approved as {arn}", file=sys.stderr)


def run_rollback(args: argparse.Namespace) -> int:
    registry = _registry(args)
    pointer = registry.rollback()
    print(
        f"rolled back: {pointer['rolled_back_from']} -> {pointer['model_version']} serves now",
        file=sys.stderr,
    )
    version = pointer["model_version"]
    _register(
        args,
        registry,
        version,
        registry.metadata(version),
        note=f"serves again: rolled back from {pointer['rolled_back_from']}",
        rolled_back_from=pointer["rolled_back_from"],
    )
    return 0

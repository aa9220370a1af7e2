"""The quality gate's options, shared by `wildrydes train --publish` and `wildrydes models promote`."""

from __future__ import annotations

import argparse

from wildrydes.errors import CommandError
from wildrydes.training import gate, model_package


def add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("quality gate (docs/training.md)")
    group.add_argument(
        "--min-auc",
        type=float,
        default=gate.DEFAULT_MIN_AUC,
        help="floor of the held-out ROC AUC (default %(default)s)",
    )
    group.add_argument(
        "--max-brier",
        type=float,
        default=gate.DEFAULT_MAX_BRIER,
        help="ceiling of the held-out Brier score (default %(default)s)",
    )
    group.add_argument(
        "--max-calibration-error",
        type=float,
        default=gate.DEFAULT_MAX_CALIBRATION_ERROR,
        help="ceiling of the expected calibration error, 10 bins (default %(default)s)",
    )
    group.add_argument(
        "--tolerance",
        type=float,
        default=gate.DEFAULT_TOLERANCE,
        help="how much worse than the serving model on the same rows is tolerated (default %(default)s)",
    )
    group.add_argument(
        "--baseline-margin",
        type=float,
        default=gate.DEFAULT_BASELINE_MARGIN,
        help="AUC margin over the distance-only baseline (default %(default)s)",
    )
    group.add_argument(
        "--force",
        action="store_true",
        help="promote even if the gate refuses (recorded in the version's metadata/promotion log)",
    )


def gate_config(args: argparse.Namespace) -> gate.GateConfig:
    try:
        return gate.GateConfig(
            min_auc=args.min_auc,
            max_brier=args.max_brier,
            max_calibration_error=args.max_calibration_error,
            tolerance=args.tolerance,
            baseline_margin=args.baseline_margin,
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def add_model_package_argument(parser: argparse.ArgumentParser) -> None:
    """The optional SageMaker Model Package Group that mirrors what serves (training/model_package.py)."""
    parser.add_argument(
        "--model-package-group",
        metavar="NAME",
        default=None,
        help="also register the version that serves in this SageMaker Model Package Group "
        f"(default ${model_package.GROUP_ENV}; unset: no registration)",
    )

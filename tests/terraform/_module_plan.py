"""Plan helpers shared by the athena/sagemaker/inference_api module tests (tftest on a temp copy, offline)."""

from __future__ import annotations

from typing import Any

import tfhelpers  # noqa: F401  (re-exported for the module tests)
import tftest


def tf_bool(value: bool) -> str:
    """tftest passes -var values verbatim: Terraform booleans must be the strings true/false."""
    return "true" if value else "false"


def plan(tf: tftest.TerraformTest, **tf_vars: Any) -> tftest.TerraformPlanOutput:
    return tf.plan(output=True, tf_vars=tf_vars)


def plan_error(tf: tftest.TerraformTest, **tf_vars: Any) -> str:
    """Plan that must fail; returns Terraform's error text."""
    try:
        tf.plan(output=True, tf_vars=tf_vars)
    except tftest.TerraformTestError as exc:
        return "\n".join(str(part) for part in exc.args)
    raise AssertionError(f"plan with {tf_vars} succeeded but should have been rejected")


def values(plan_output: tftest.TerraformPlanOutput, address: str) -> dict[str, Any]:
    """Planned attribute values of one resource (address relative to the module)."""
    return plan_output.resources[address]["values"]

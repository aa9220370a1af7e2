"""modules/sagemaker: the lifecycle's least privilege, evaluated like IAM (an explicit Deny wins over any Allow).

The module's other plan rules live in its native `terraform test` file; this one needs Python: it evaluates the
planned policies for concrete object ARNs (fnmatch on the resources), which HCL cannot do.
"""

from __future__ import annotations

import json

import pytest
import tfhelpers
from tfhelpers import LAYOUT, plan, plan_error, tf_bool, values

BUCKET = "wildrydes-data-test"
ACCOUNT = tfhelpers.TEST_ACCOUNT_ID
NOTEBOOK = str(tfhelpers.REPO_ROOT / "notebooks" / "linear_learner.ipynb")
US_EAST_1_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"


@pytest.fixture(scope="module")
def tf(tmp_path_factory):
    return tfhelpers.offline_module(tmp_path_factory.mktemp("sagemaker"), "sagemaker")


def policy_statements(plan_output, address):
    return json.loads(values(plan_output, address)["policy"])["Statement"]


def as_list(value):
    return value if isinstance(value, list) else [value]


POINTER_ARN = f"arn:aws:s3:::{BUCKET}/models/linear-learner/serving.json"


def may_write(statements: list[dict], object_arn: str) -> bool:
    """IAM evaluation of s3:PutObject on one object: an explicit Deny wins, else any matching Allow."""
    import fnmatch

    def matches(st: dict) -> bool:
        actions = as_list(st["Action"])
        return ("s3:PutObject" in actions or "s3:*" in actions) and any(
            fnmatch.fnmatchcase(object_arn, r) for r in as_list(st["Resource"])
        )

    if any(st.get("Effect") == "Deny" and matches(st) for st in statements):
        return False
    return any(st.get("Effect", "Allow") == "Allow" and matches(st) for st in statements)


def test_training_and_notebook_roles_write_versions_but_never_the_serving_pointer(tf):
    p = plan(
        tf,
        layout=LAYOUT,
        data_bucket_name=BUCKET,
        account_id=ACCOUNT,
        enable_notebook=tf_bool(True),
        notebook_source_path=NOTEBOOK,
        notebook_direct_internet_access=tf_bool(True),
    )
    version_arn = f"arn:aws:s3:::{BUCKET}/models/linear-learner/versions/0123456789abcdef/model.tar.gz"
    job_arn = f"arn:aws:s3:::{BUCKET}/models/linear-learner/jobs/job-1/output/model.tar.gz"
    for policy in ("aws_iam_role_policy.training", "aws_iam_role_policy.notebook[0]"):
        statements = policy_statements(p, policy)
        assert may_write(statements, version_arn) and may_write(statements, job_arn), policy
        assert not may_write(statements, POINTER_ARN), f"{policy} may write the serving pointer"
        assert not may_write(statements, f"arn:aws:s3:::{BUCKET}/models/linear-learner/latest/model.tar.gz")
    notebook = {st["Sid"]: st for st in policy_statements(p, "aws_iam_role_policy.notebook[0]")}
    listing = notebook["ListOnlyNeededPrefixes"]
    assert as_list(listing["Action"]) == ["s3:ListBucket"]
    assert sorted(listing["Condition"]["StringLike"]["s3:prefix"]) == sorted(
        ["processed/*", "nygroundstationdata/*", "training/*", "models/*", "athena-results/*", "tmp/*"]
    )
    assert not [
        st for st in notebook.values() if "s3:ListBucket" in as_list(st["Action"]) and "Condition" not in st
    ]
    instance = values(p, "aws_sagemaker_notebook_instance.notebook[0]")
    assert instance["direct_internet_access"] == "Enabled"  # only because it was asked for


def test_notebook_direct_internet_is_off_by_default_and_then_needs_a_subnet(tf):
    error = plan_error(
        tf, layout=LAYOUT, data_bucket_name=BUCKET, enable_notebook="true", notebook_source_path=NOTEBOOK
    )
    assert "needs notebook_subnet_id" in " ".join(error.split())

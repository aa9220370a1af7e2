"""modules/sagemaker planned offline: a least-privilege training role, the image URI, the optional notebook."""

from __future__ import annotations

import base64
import json

import pytest
import tfhelpers
from tfhelpers import LAYOUT, plan, plan_error, tf_bool, values

BUCKET = "wildrydes-data-test"
ACCOUNT = tfhelpers.TEST_ACCOUNT_ID
NOTEBOOK = str(tfhelpers.REPO_ROOT / "notebooks" / "linear_learner.ipynb")
US_EAST_1_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
# Actions whose resource must be "*" because they have no resource type in IAM.
RESOURCELESS_ACTIONS = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}


@pytest.fixture(scope="module")
def tf(tmp_path_factory):
    return tfhelpers.offline_module(tmp_path_factory.mktemp("sagemaker"), "sagemaker")


@pytest.fixture(scope="module")
def default_plan(tf):
    return plan(tf, layout=LAYOUT, data_bucket_name=BUCKET, account_id=ACCOUNT)


def policy_statements(plan_output, address):
    return json.loads(values(plan_output, address)["policy"])["Statement"]


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_training_role_is_assumed_by_sagemaker_only(default_plan):
    trust = json.loads(values(default_plan, "aws_iam_role.training")["assume_role_policy"])
    principals = [s["Principal"] for s in trust["Statement"]]
    assert principals == [{"Service": "sagemaker.amazonaws.com"}]


def test_training_policy_is_least_privilege(default_plan):
    statements = policy_statements(default_plan, "aws_iam_role_policy.training")
    s3_resources = set()
    for st in statements:
        actions = as_list(st["Action"])
        assert all("*" not in a for a in actions), f"wildcard action in {st['Sid']}"
        resources = as_list(st["Resource"])
        if "*" in resources:
            assert set(actions) <= RESOURCELESS_ACTIONS, f"{st['Sid']} grants {actions} on *"
        if any(a.startswith("s3:") for a in actions) and st.get("Effect", "Allow") == "Allow":
            assert set(actions) <= {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
            s3_resources.update(resources)
    assert s3_resources == {
        f"arn:aws:s3:::{BUCKET}/training/*",
        f"arn:aws:s3:::{BUCKET}/models/*",
        f"arn:aws:s3:::{BUCKET}/models/linear-learner/versions/*",
        f"arn:aws:s3:::{BUCKET}/models/linear-learner/jobs/*",
        f"arn:aws:s3:::{BUCKET}",
    }
    by_sid = {st["Sid"]: st for st in statements}
    assert as_list(by_sid["ReadModels"]["Action"]) == ["s3:GetObject"]
    assert by_sid["ListOnlyOurPrefixes"]["Condition"]["StringLike"]["s3:prefix"] == ["training/*", "models/*"]
    assert as_list(by_sid["ReadTrainingChannels"]["Action"]) == ["s3:GetObject"]  # never writes its input
    assert by_sid["PullLinearLearnerImage"]["Resource"] == (
        "arn:aws:ecr:us-east-1:382416733822:repository/linear-learner")
    assert f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/sagemaker/TrainingJobs" in (
        by_sid["TrainingJobLogs"]["Resource"])


def test_no_managed_full_access_policies(default_plan):
    attachments = [a for a in default_plan.resources if a.startswith("aws_iam_role_policy_attachment")]
    assert attachments == []


def test_outputs_image_uri_for_the_region(default_plan):
    assert default_plan.outputs["linear_learner_image_uri"] == US_EAST_1_IMAGE


def test_notebook_is_off_by_default(default_plan):
    assert not [a for a in default_plan.resources if "notebook" in a and not a.startswith("data.")]


def test_enabled_notebook_gets_our_notebook_and_no_root(tf):
    p = plan(tf, layout=LAYOUT, data_bucket_name=BUCKET, account_id=ACCOUNT, enable_notebook=tf_bool(True),
             notebook_source_path=NOTEBOOK, notebook_direct_internet_access=tf_bool(True))
    instance = values(p, "aws_sagemaker_notebook_instance.notebook[0]")
    assert instance["root_access"] == "Disabled"
    assert instance["direct_internet_access"] == "Enabled"  # no subnet given: the only way it can reach S3
    script = base64.b64decode(values(p, "aws_sagemaker_notebook_instance_lifecycle_configuration.notebook[0]")
                              ["on_start"]).decode()
    assert f"s3://{BUCKET}/notebooks/linear_learner.ipynb" in script
    assert "/home/ec2-user/SageMaker/linear_learner.ipynb" in script
    uploaded = values(p, "aws_s3_object.notebook[0]")
    assert (uploaded["key"], uploaded["server_side_encryption"]) == ("notebooks/linear_learner.ipynb", "AES256")
    pass_role = next(st for st in policy_statements(p, "aws_iam_role_policy.notebook[0]")
                     if st["Sid"] == "HandTrainingRoleToSageMaker")
    assert pass_role["Resource"] == f"arn:aws:iam::{ACCOUNT}:role/wildrydes-sagemaker-training"
    assert pass_role["Condition"]["StringEquals"]["iam:PassedToService"] == "sagemaker.amazonaws.com"


def test_notebook_in_a_subnet_has_no_direct_internet(tf):
    p = plan(tf, layout=LAYOUT, data_bucket_name=BUCKET, account_id=ACCOUNT, enable_notebook=tf_bool(True),
             notebook_source_path=NOTEBOOK, notebook_subnet_id="subnet-0abc123",
             notebook_security_group_ids=json.dumps(["sg-0abc123"]))
    assert values(p, "aws_sagemaker_notebook_instance.notebook[0]")["direct_internet_access"] == "Disabled"


@pytest.mark.parametrize(
    ("bad_vars", "message"),
    [
        ({"notebook_subnet_id": "vpc-123"}, "must be null or a subnet id"),
        ({"enable_notebook": "true", "notebook_source_path": NOTEBOOK, "notebook_subnet_id": "subnet-0abc"},
         "must name at least one security group"),
        ({"account_id": "12345"}, "12-digit AWS account id"),
    ],
)
def test_bad_inputs_are_rejected(tf, bad_vars, message):
    error = plan_error(tf, layout=LAYOUT, data_bucket_name=BUCKET, **bad_vars)
    assert message in " ".join(error.split())


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

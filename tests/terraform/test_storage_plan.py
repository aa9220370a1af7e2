"""Plan-level rules of modules/storage (offline, tftest)."""

from __future__ import annotations

import json

import pytest
from tfhelpers import TEST_ACCOUNT_ID, offline_module, plan_error

BUCKET = "wr-test-data"
INGEST_ARN = f"arn:aws:lambda:us-east-1:{TEST_ACCOUNT_ID}:function:wr-test-ingest"
BASE_VARS = {
    "name_prefix": "wr-test",
    "bucket_name": BUCKET,
    "ingest_function_arn": INGEST_ARN,
    "ingest_function_name": "wr-test-ingest",
}


@pytest.fixture(scope="module")
def storage(tmp_path_factory, terraform_bin):
    return offline_module(tmp_path_factory.mktemp("storage"), "storage")


@pytest.fixture(scope="module")
def default_plan(storage):
    return storage.plan(output=True, tf_vars=BASE_VARS)


def values(plan, address):
    assert address in plan.resources, f"{address} not planned; planned: {sorted(plan.resources)}"
    return plan.resources[address]["values"]


def test_bucket_is_named_and_kept_by_default(default_plan):
    bucket = values(default_plan, "aws_s3_bucket.data")
    assert bucket["bucket"] == BUCKET
    assert bucket["force_destroy"] is False


def test_force_destroy_follows_the_variable(storage):
    plan = storage.plan(output=True, tf_vars={**BASE_VARS, "force_destroy": "true"})
    assert values(plan, "aws_s3_bucket.data")["force_destroy"] is True


def test_versioning_public_access_block_and_ownership(default_plan):
    versioning = values(default_plan, "aws_s3_bucket_versioning.data")
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    block = values(default_plan, "aws_s3_bucket_public_access_block.data")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[flag] is True, flag
    ownership = values(default_plan, "aws_s3_bucket_ownership_controls.data")
    assert ownership["rule"][0]["object_ownership"] == "BucketOwnerEnforced"


def test_sse_s3_by_default(default_plan):
    sse = values(default_plan, "aws_s3_bucket_server_side_encryption_configuration.data")
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "AES256"
    assert not default.get("kms_master_key_id")


def test_sse_kms_when_a_key_is_given(storage):
    key = f"arn:aws:kms:us-east-1:{TEST_ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
    plan = storage.plan(output=True, tf_vars={**BASE_VARS, "kms_key_arn": key})
    rule = values(plan, "aws_s3_bucket_server_side_encryption_configuration.data")["rule"][0]
    assert rule["apply_server_side_encryption_by_default"][0] == {"sse_algorithm": "aws:kms", "kms_master_key_id": key}
    assert rule["bucket_key_enabled"] is True


def test_bucket_policy_denies_every_non_tls_request(default_plan):
    policy = json.loads(values(default_plan, "aws_s3_bucket_policy.tls_only")["policy"])
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*" or statement["Principal"] == {"AWS": "*"}
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(statement["Resource"]) == sorted([f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"])


def lifecycle_rules(plan):
    rules = values(plan, "aws_s3_bucket_lifecycle_configuration.data")["rule"]
    return {rule["id"]: rule for rule in rules}


def test_lifecycle_expires_the_disposable_prefixes(storage):
    plan = storage.plan(
        output=True,
        tf_vars={**BASE_VARS, "quarantine_expiration_days": 45, "tmp_expiration_days": 2, "athena_results_expiration_days": 9},
    )
    rules = lifecycle_rules(plan)
    expected = {"quarantine/": 45, "tmp/": 2, "athena-results/": 9}
    expiring = {r["filter"][0]["prefix"]: r["expiration"][0]["days"] for r in rules.values() if r.get("expiration")}
    assert expiring == expected
    # Nothing else expires: raw/ and processed/ are kept (only old versions go).
    assert all(r["status"] == "Enabled" for r in rules.values())
    noncurrent = [r for r in rules.values() if r.get("noncurrent_version_expiration")]
    assert len(noncurrent) == 1 and noncurrent[0]["noncurrent_version_expiration"][0]["noncurrent_days"] == 30


def test_raw_json_uploads_notify_ingest(default_plan):
    notification = values(default_plan, "aws_s3_bucket_notification.raw_to_ingest[0]")
    (target,) = notification["lambda_function"]
    assert target["lambda_function_arn"] == INGEST_ARN
    assert target["filter_prefix"] == "raw/"
    assert target.get("filter_suffix") in (None, "")  # any object: .JSON, .json.gz, .ndjson; ingest decides
    assert target["events"] == ["s3:ObjectCreated:*"]
    permission = values(default_plan, "aws_lambda_permission.s3_invokes_ingest[0]")
    assert permission["principal"] == "s3.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["function_name"] == "wr-test-ingest"
    assert permission["source_arn"] == f"arn:aws:s3:::{BUCKET}"


def test_notification_can_be_disabled(storage):
    plan = storage.plan(
        output=True,
        tf_vars={"name_prefix": "wr-test", "bucket_name": BUCKET, "ingest_notification_enabled": "false"},
    )
    assert not [a for a in plan.resources if "notification" in a or "permission" in a]
    assert "aws_s3_bucket.data" in plan.resources


def test_notification_without_a_function_is_rejected(storage):
    error = plan_error(storage, {"name_prefix": "wr-test", "bucket_name": BUCKET})
    assert "ingest_notification_enabled = true needs ingest_function_arn and ingest_function_name" in error

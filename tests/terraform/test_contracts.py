"""Cross-language contracts: what Terraform plans must match what the Python code reads and writes.

Each contract is defined once on each side (Python: ``wildrydes_lambda.contracts``; Terraform: the storage
module's ``layout`` output, the Athena rides table, the functions' environment and IAM). These tests compare
the planned root module with the Python constants, so neither copy can drift from the other.
"""

from __future__ import annotations

import json
import re

import pytest
import tfhelpers

from wildrydes_lambda.contracts import csv_schema, features, layout
from wildrydes_lambda.etl.config import EnrichConfig, IngestConfig, WriterConfig
from wildrydes_lambda.serving import service

BUCKET_ARN = f"arn:aws:s3:::{tfhelpers.ROOT_TEST_BUCKET}"
NAME_PREFIX_RULE = re.compile(
    r'variable "name_prefix" \{.*?condition\s*=\s*(?P<condition>[^\n]+)\n\s*error_message\s*=\s*(?P<message>[^\n]+)',
    re.S,
)


def policy_resources(policy_json: str) -> set[str]:
    resources: set[str] = set()
    for statement in json.loads(policy_json)["Statement"]:
        value = statement["Resource"]
        resources |= set(value if isinstance(value, list) else [value])
    return resources


@pytest.fixture(scope="module")
def storage_plan(tmp_path_factory, terraform_bin):
    storage = tfhelpers.offline_module(tmp_path_factory.mktemp("storage-contract"), "storage")
    return storage.plan(
        output=True,
        tf_vars={
            "name_prefix": "wr-test",
            "bucket_name": "wr-test-data",
            "ingest_notification_enabled": "false",
        },
    )


def test_storage_layout_output_equals_the_python_layout(storage_plan):
    assert storage_plan.outputs["layout"] == tfhelpers.LAYOUT


def test_every_python_prefix_is_in_the_terraform_layout():
    assert {p.name.lower() for p in layout.Prefix} <= set(tfhelpers.LAYOUT)
    assert all(value.endswith("/") and not value.startswith("/") for value in map(str, layout.Prefix))


@pytest.fixture(scope="module")
def etl_plan(tmp_path_factory, terraform_bin):
    """etl_functions planned alone with known queue values (in the root plan the queue URLs, and so the
    environment maps and policies, are only known after apply)."""
    folder = tmp_path_factory.mktemp("etl-contract")
    zip_path = str(tfhelpers.make_fake_lambda_zip(folder / "fn.zip"))
    queue = {
        k: {
            "arn": f"arn:aws:sqs:us-east-1:000000000000:{k}",
            "url": f"https://sqs.example/{k}",
            "name": k,
            "dlq_arn": f"arn:aws:sqs:us-east-1:000000000000:{k}-dlq",
            "dlq_name": f"{k}-dlq",
        }
        for k in ("ingest", "groundstation")
    }
    queue["ingest_events"] = {
        "arn": "arn:aws:sqs:us-east-1:000000000000:events",
        "url": "https://sqs.example/e",
        "name": "events",
    }
    etl = tfhelpers.offline_module(folder / "module", "etl_functions")
    return etl.plan(
        output=True,
        tf_vars={
            "name_prefix": "wr-test",
            "data_bucket_name": tfhelpers.ROOT_TEST_BUCKET,
            "data_bucket_arn": BUCKET_ARN,
            "functions": {n: {"zip_path": zip_path} for n in ("ingest", "enrich", "writer")},
            "queues": queue,
            "layout": tfhelpers.LAYOUT,
        },
    )


def test_etl_environment_and_python_defaults_agree_with_the_layout(etl_plan):
    env = {
        n: tfhelpers.lambda_function(etl_plan, n)["aws_lambda_function.this"]["values"]["environment"][0][
            "variables"
        ]
        for n in ("ingest", "enrich", "writer")
    }
    assert env["ingest"]["RAW_PREFIX"] == layout.Prefix.RAW
    assert env["ingest"]["MANIFEST_PREFIX"] == layout.Prefix.MANIFESTS
    assert (
        env["ingest"]["QUARANTINE_PREFIX"] == env["enrich"]["QUARANTINE_PREFIX"] == layout.Prefix.QUARANTINE
    )
    assert env["writer"]["PROCESSED_PREFIX"] == env["ingest"]["PROCESSED_PREFIX"] == layout.Prefix.PROCESSED
    # The functions' own defaults (no *_PREFIX set) are the same layout.
    ingest = IngestConfig.from_env({"DATA_BUCKET": "b", "INGEST_QUEUE_URL": "q"})
    assert (ingest.raw_prefix, ingest.manifest_prefix, ingest.quarantine_prefix) == (
        layout.Prefix.RAW,
        layout.Prefix.MANIFESTS,
        layout.Prefix.QUARANTINE,
    )
    assert (
        EnrichConfig.from_env({"DATA_BUCKET": "b", "OUTPUT_QUEUE_URL": "q"}).quarantine_prefix
        == layout.Prefix.QUARANTINE
    )
    assert WriterConfig.from_env({"DATA_BUCKET": "b"}).processed_prefix == layout.Prefix.PROCESSED


def test_etl_iam_is_scoped_to_the_layout_prefixes(etl_plan):
    granted = {
        n: policy_resources(
            tfhelpers.lambda_function(etl_plan, n)["aws_iam_role_policy.data_access"]["values"]["policy"]
        )
        for n in ("ingest", "enrich", "writer")
    }
    s3 = {n: {r for r in rs if r.startswith(BUCKET_ARN)} for n, rs in granted.items()}
    objects = {p: f"{BUCKET_ARN}/{p.value}*" for p in layout.Prefix}
    assert s3["ingest"] == {
        objects[layout.Prefix.RAW],
        objects[layout.Prefix.QUARANTINE],
        objects[layout.Prefix.MANIFESTS],
        objects[layout.Prefix.PROCESSED],  # DeleteObject of superseded versions' objects
        BUCKET_ARN,  # ListBucket, limited to manifests/ and processed/ by a condition (module test)
    }
    assert s3["enrich"] == {objects[layout.Prefix.QUARANTINE]}
    assert s3["writer"] == {objects[layout.Prefix.PROCESSED]}


def module_plan(tmp_path_factory, module: str, **tf_vars):
    """A module planned alone on the standard layout: in the root plan the bucket name (and so every
    policy, location and environment that names it) is only known after apply."""
    folder = tmp_path_factory.mktemp(f"{module}-contract")
    tf = tfhelpers.offline_module(folder / "module", module)
    return tf.plan(
        output=True,
        tf_vars={"data_bucket_name": tfhelpers.ROOT_TEST_BUCKET, "layout": tfhelpers.LAYOUT, **tf_vars},
    )


@pytest.fixture(scope="module")
def inference_plan(tmp_path_factory, terraform_bin):
    folder = tmp_path_factory.mktemp("inference-zips")
    return module_plan(
        tmp_path_factory,
        "inference_api",
        account_id=tfhelpers.TEST_ACCOUNT_ID,
        function_zip_path=str(tfhelpers.make_fake_lambda_zip(folder / "fn.zip")),
        layer_zip_path=str(tfhelpers.make_fake_lambda_zip(folder / "layer.zip")),
    )


def test_inference_serves_the_python_model_keys_and_reads_only_models(inference_plan):
    inference = tfhelpers.lambda_function(inference_plan)
    env = inference["aws_lambda_function.this"]["values"]["environment"][0]["variables"]
    assert env["MODEL_POINTER_KEY"] == layout.MODEL_POINTER_KEY == service.DEFAULT_POINTER_KEY
    assert env["MODEL_VERSIONS_PREFIX"] == layout.MODEL_VERSIONS_PREFIX == service.DEFAULT_VERSIONS_PREFIX
    assert (
        inference_plan.outputs["model_s3_uri"]
        == f"s3://{tfhelpers.ROOT_TEST_BUCKET}/{layout.MODEL_POINTER_KEY}"
    )
    # the pointer and the versions live under the models prefix the function may read
    assert layout.MODEL_POINTER_KEY.startswith(layout.Prefix.MODELS)
    assert layout.MODEL_VERSIONS_PREFIX.startswith(layout.Prefix.MODELS)
    reads = {
        r
        for r in policy_resources(inference["aws_iam_role_policy.data_access"]["values"]["policy"])
        if r.startswith(BUCKET_ARN)
    }
    assert reads == {f"{BUCKET_ARN}/{layout.Prefix.MODELS}*"}


def test_training_role_reads_training_and_writes_models(tmp_path_factory, terraform_bin):
    sagemaker = module_plan(tmp_path_factory, "sagemaker", account_id=tfhelpers.TEST_ACCOUNT_ID).resources
    granted = policy_resources(sagemaker["aws_iam_role_policy.training"]["values"]["policy"])
    assert f"{BUCKET_ARN}/{layout.Prefix.TRAINING}*" in granted
    assert f"{BUCKET_ARN}/{layout.Prefix.MODELS}*" in granted
    # writes: the Python side's versions and job prefixes; the pointer is denied
    assert f"{BUCKET_ARN}/{layout.MODEL_VERSIONS_PREFIX}*" in granted
    assert f"{BUCKET_ARN}/{layout.MODEL_JOBS_PREFIX}*" in granted
    assert f"{BUCKET_ARN}/{layout.MODEL_POINTER_KEY}" in granted


def test_glue_rides_table_columns_are_the_processed_csv_columns(tmp_path_factory, terraform_bin):
    athena = module_plan(tmp_path_factory, "athena", sql_dir=str(tfhelpers.REPO_ROOT / "sql")).resources
    rides = next(
        r["values"]
        for a, r in athena.items()
        if r["type"] == "aws_glue_catalog_table" and r["values"]["name"] == "rides"
    )
    columns = [c["name"] for c in rides["storage_descriptor"][0]["columns"]]
    assert tuple(columns) == csv_schema.CSV_COLUMNS
    assert (
        rides["storage_descriptor"][0]["location"]
        == f"s3://{tfhelpers.ROOT_TEST_BUCKET}/{layout.Prefix.PROCESSED}"
    )


def test_api_docs_name_the_model_features_in_order():
    documented = f'{{"instances": [{{"features": [{", ".join(features.FEATURE_NAMES)}]}}]}}'
    assert documented in (tfhelpers.REPO_ROOT / "lambda_src" / "README.md").read_text()
    design = (tfhelpers.REPO_ROOT / "docs" / "design.md").read_text()
    assert '"features": [' + ",".join(f'"{f}"' for f in features.FEATURE_NAMES) + "]" in design


def test_one_name_prefix_rule_in_every_module():
    rules = {}
    for module in tfhelpers.ALL_MODULES:
        text = (tfhelpers.MODULES_DIR / module / "variables.tf").read_text()
        match = NAME_PREFIX_RULE.search(text)
        assert match, f"modules/{module} has no validated name_prefix"
        rules[module] = (match["condition"].strip(), match["message"].strip())
    assert len(set(rules.values())) == 1, rules

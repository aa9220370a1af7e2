"""Plan-level rules of modules/etl_functions (offline, tftest): packaging, wiring, least privilege."""

from __future__ import annotations

import json

import pytest
from tfhelpers import LAYOUT, TEST_ACCOUNT_ID, base64_sha256, make_fake_lambda_zip, offline_module, plan_error

ACCOUNT = TEST_ACCOUNT_ID
BUCKET = "wr-test-data"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
QUEUE_ARN = {name: f"arn:aws:sqs:us-east-1:{ACCOUNT}:wr-test-{name}" for name in ("ingest", "groundstation", "ingest-events-dlq")}
QUEUE_URL = {name: f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/wr-test-{name}" for name in ("ingest", "groundstation")}
FUNCTIONS = ("ingest", "enrich", "writer")

# What each function's code calls (lambda_src/README.md), written out independently of the module.
EXPECTED_GRANTS = {
    "ingest": {
        ("s3:GetObject", f"{BUCKET_ARN}/raw/*"),
        ("s3:GetObjectVersion", f"{BUCKET_ARN}/raw/*"),  # ingest reads the version its S3 event names
        ("s3:PutObject", f"{BUCKET_ARN}/quarantine/*"),
        ("s3:PutObject", f"{BUCKET_ARN}/manifests/*"),
        ("sqs:SendMessage", QUEUE_ARN["ingest"]),
        ("sqs:SendMessage", QUEUE_ARN["ingest-events-dlq"]),
    },
    "enrich": {
        ("sqs:ReceiveMessage", QUEUE_ARN["ingest"]),
        ("sqs:DeleteMessage", QUEUE_ARN["ingest"]),
        ("sqs:GetQueueAttributes", QUEUE_ARN["ingest"]),
        ("sqs:SendMessage", QUEUE_ARN["groundstation"]),
        ("s3:PutObject", f"{BUCKET_ARN}/quarantine/*"),
    },
    "writer": {
        ("sqs:ReceiveMessage", QUEUE_ARN["groundstation"]),
        ("sqs:DeleteMessage", QUEUE_ARN["groundstation"]),
        ("sqs:GetQueueAttributes", QUEUE_ARN["groundstation"]),
        ("s3:PutObject", f"{BUCKET_ARN}/processed/*"),
    },
}


@pytest.fixture(scope="module")
def zips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zips")
    # Different content per function so a mix-up of paths shows in source_code_hash.
    return {f: make_fake_lambda_zip(folder / f"{f}.zip", f"NAME = {f!r}\ndef lambda_handler(e, c):\n    return NAME\n") for f in FUNCTIONS}


@pytest.fixture(scope="module")
def base_vars(zips):
    return {
        "name_prefix": "wr-test",
        "functions": {
            "ingest": {"zip_path": str(zips["ingest"])},
            "enrich": {"zip_path": str(zips["enrich"]), "timeout_seconds": 20},
            "writer": {"zip_path": str(zips["writer"]), "memory_mb": 512},
        },
        "data_bucket_name": BUCKET,
        "data_bucket_arn": BUCKET_ARN,
        "layout": LAYOUT,
        # The queues module's `queues` output, as etl_functions takes it.
        "queues": {
            "ingest": {"arn": QUEUE_ARN["ingest"], "url": QUEUE_URL["ingest"], "name": "wr-test-ingest",
                       "dlq_arn": f"{QUEUE_ARN['ingest']}-dlq", "dlq_name": "wr-test-ingest-dlq"},
            "groundstation": {"arn": QUEUE_ARN["groundstation"], "url": QUEUE_URL["groundstation"],
                              "name": "wr-test-groundstation", "dlq_arn": f"{QUEUE_ARN['groundstation']}-dlq",
                              "dlq_name": "wr-test-groundstation-dlq"},
            "ingest_events": {"arn": QUEUE_ARN["ingest-events-dlq"], "url": "https://sqs.example/ingest-events-dlq",
                              "name": "wr-test-ingest-events-dlq"},
        },
        "rides_per_message": 50,
        "sqs_batch_size": 5,
        "sqs_batching_window_seconds": 2,
        "log_retention_days": 14,
    }


@pytest.fixture(scope="module")
def etl(tmp_path_factory, terraform_bin):
    return offline_module(tmp_path_factory.mktemp("etl"), "etl_functions")


@pytest.fixture(scope="module")
def plan(etl, base_vars):
    return etl.plan(output=True, tf_vars=base_vars)


def function(plan, name):
    return plan.resources[f'aws_lambda_function.function["{name}"]']["values"]


def test_functions_are_python313_with_the_shared_handler_and_their_own_zip(plan, zips):
    for name in FUNCTIONS:
        fn = function(plan, name)
        assert fn["function_name"] == f"wr-test-{name}"
        assert fn["runtime"] == "python3.13" and fn["architectures"] == ["x86_64"]
        assert fn["handler"] == "handler.lambda_handler"
        assert fn["filename"] == str(zips[name])
        assert fn["source_code_hash"] == base64_sha256(zips[name]), name


def test_memory_and_timeouts_follow_the_variables(plan):
    assert (function(plan, "ingest")["memory_size"], function(plan, "ingest")["timeout"]) == (256, 300)
    assert function(plan, "enrich")["timeout"] == 20
    assert function(plan, "writer")["memory_size"] == 512


def test_environment_matches_the_lambda_src_contract(plan):
    env = {name: function(plan, name)["environment"][0]["variables"] for name in FUNCTIONS}
    for name in FUNCTIONS:
        assert env[name]["DATA_BUCKET"] == BUCKET
        assert env[name]["POWERTOOLS_SERVICE_NAME"] == f"wr-test-{name}"
        assert env[name]["LOG_LEVEL"] == "INFO"
    assert env["ingest"]["INGEST_QUEUE_URL"] == QUEUE_URL["ingest"]
    assert env["ingest"]["RIDES_PER_MESSAGE"] == "50"
    assert env["ingest"]["RAW_PREFIX"] == "raw/"
    assert env["ingest"]["MANIFEST_PREFIX"] == "manifests/"
    assert env["ingest"]["QUARANTINE_PREFIX"] == env["enrich"]["QUARANTINE_PREFIX"] == "quarantine/"
    assert env["enrich"]["OUTPUT_QUEUE_URL"] == QUEUE_URL["groundstation"]
    assert env["enrich"]["MAX_STATION_DISTANCE_MILES"] == ""  # default null = no limit (workshop semantics)
    assert env["writer"]["PROCESSED_PREFIX"] == "processed/"
    assert env["writer"]["WRITER_MODE"] == "batched"
    # A function only learns about the queues it uses.
    assert "OUTPUT_QUEUE_URL" not in env["ingest"] and "INGEST_QUEUE_URL" not in env["writer"]
    assert "QUARANTINE_PREFIX" not in env["writer"]  # the writer never quarantines (lambda_src/README.md)


def test_only_the_async_ingest_function_has_a_dead_letter_target(plan):
    assert function(plan, "ingest")["dead_letter_config"] == [{"target_arn": QUEUE_ARN["ingest-events-dlq"]}]
    assert function(plan, "enrich")["dead_letter_config"] == []
    assert function(plan, "writer")["dead_letter_config"] == []


def grants(plan, name):
    policy = json.loads(plan.resources[f'aws_iam_role_policy.function["{name}"]']["values"]["policy"])
    pairs = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        pairs |= {(a, r) for a in actions for r in resources}
    return pairs


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_role_grants_exactly_what_its_function_uses(plan, name):
    assert grants(plan, name) == EXPECTED_GRANTS[name]


def test_no_wildcard_actions_or_resources(plan):
    for name in FUNCTIONS:
        for action, resource in grants(plan, name):
            assert "*" not in action, (name, action)
            assert resource != "*" and not resource.endswith(":*") and resource.count("*") <= 1, (name, resource)


def test_one_role_and_one_logs_policy_per_function(plan):
    roles = {r["values"]["name"] for r in plan.resources.values() if r["type"] == "aws_iam_role"}
    assert roles == {f"wr-test-{f}-lambda" for f in FUNCTIONS}
    for name in FUNCTIONS:
        role = plan.resources[f'aws_iam_role.function["{name}"]']["values"]
        trust = json.loads(role["assume_role_policy"])
        assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert f'aws_iam_role_policy.logs["{name}"]' in plan.resources
    # The logs grant names the function's own log group (ARN known only after apply).
    config = {r["address"]: r for r in plan.configuration["root_module"]["resources"]}
    statement = config["data.aws_iam_policy_document.logs"]["expressions"]["statement"][0]
    assert statement["actions"]["constant_value"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert "aws_cloudwatch_log_group.function" in statement["resources"]["references"]


def test_kms_key_grant_appears_only_with_sse_kms(etl, base_vars):
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc"
    plan = etl.plan(output=True, tf_vars={**base_vars, "data_bucket_kms_key_arn": key})
    for name in FUNCTIONS:
        assert grants(plan, name) - EXPECTED_GRANTS[name] == {("kms:Decrypt", key), ("kms:GenerateDataKey", key)}


def test_log_groups_have_retention(plan):
    for name in FUNCTIONS:
        group = plan.resources[f'aws_cloudwatch_log_group.function["{name}"]']["values"]
        assert group["name"] == f"/aws/lambda/wr-test-{name}"
        assert group["retention_in_days"] == 14


def test_sqs_consumers_report_partial_batch_failures(plan):
    mappings = {k: r["values"] for k, r in plan.resources.items() if r["type"] == "aws_lambda_event_source_mapping"}
    sources = {k.split('"')[1]: v["event_source_arn"] for k, v in mappings.items()}
    assert sources == {"enrich": QUEUE_ARN["ingest"], "writer": QUEUE_ARN["groundstation"]}
    for mapping in mappings.values():
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["batch_size"] == 5
        assert mapping["maximum_batching_window_in_seconds"] == 2


def test_big_batches_need_a_batching_window(etl, base_vars):
    error = plan_error(etl, {**base_vars, "sqs_batch_size": 50, "sqs_batching_window_seconds": 0})
    assert "sqs_batch_size > 10 need sqs_batching_window_seconds >= 1" in error


def test_dashboard_shows_invocations_errors_depth_and_age(plan):
    body = json.loads(plan.resources["aws_cloudwatch_dashboard.etl"]["values"]["dashboard_body"])
    metrics = [tuple(m) for w in body["widgets"] for m in w["properties"]["metrics"]]
    for name in FUNCTIONS:
        assert ("AWS/Lambda", "Invocations", "FunctionName", f"wr-test-{name}") in metrics
        assert ("AWS/Lambda", "Errors", "FunctionName", f"wr-test-{name}") in metrics
    for queue in ("wr-test-ingest", "wr-test-groundstation"):
        assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue) in metrics
        assert ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queue) in metrics


def test_every_dlq_has_an_alarm(plan):
    alarms = {r["values"]["dimensions"]["QueueName"]: r["values"] for r in plan.resources.values()
              if r["type"] == "aws_cloudwatch_metric_alarm"}
    assert set(alarms) == {"wr-test-ingest-dlq", "wr-test-groundstation-dlq", "wr-test-ingest-events-dlq"}
    for alarm in alarms.values():
        assert alarm["metric_name"] == "ApproximateNumberOfMessagesVisible"
        assert alarm["comparison_operator"] == "GreaterThanThreshold" and alarm["threshold"] == 0
        assert not alarm["alarm_actions"]
    assert not [r for r in plan.resources.values() if r["type"] == "aws_sns_topic"]


def test_alarm_topic_is_optional(etl, base_vars):
    plan = etl.plan(output=True, tf_vars={**base_vars, "alarm_topic_enabled": "true"})
    assert plan.resources["aws_sns_topic.alarms[0]"]["values"]["name"] == "wr-test-etl-alarms"
    alarms = [r for r in plan.resource_changes.values() if r["type"] == "aws_cloudwatch_metric_alarm"]
    assert len(alarms) == 3
    for alarm in alarms:  # the topic ARN is known after apply
        assert alarm["change"]["after_unknown"]["alarm_actions"] in (True, [True])

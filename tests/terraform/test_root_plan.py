"""Plan of the ROOT module (all six modules wired together), offline with tftest."""

from __future__ import annotations

import pytest
from tfhelpers import ROOT_TEST_BUCKET as BUCKET
from tfhelpers import lambda_function, plan_error

ETL_OUTPUTS = (
    "data_bucket_name",
    "data_bucket_arn",
    "ingest_queue_url",
    "groundstation_queue_url",
    "ingest_dlq_url",
    "groundstation_dlq_url",
    "ingest_function_name",
    "enrich_function_name",
    "writer_function_name",
)
ALL_MODULES = ("storage", "queues", "etl_functions", "athena", "sagemaker", "inference_api")


@pytest.fixture(scope="module")
def plan(root_plan):
    return root_plan


def test_all_six_modules_are_planned(plan):
    planned = set(plan.modules)
    for module in ALL_MODULES:
        assert f"module.{module}" in planned, f"module.{module} missing from the root plan: {sorted(planned)}"


def test_root_exposes_the_etl_outputs(plan):
    declared = set(plan.configuration["root_module"]["outputs"])
    assert set(ETL_OUTPUTS) <= declared
    assert plan.outputs["data_bucket_arn"] == f"arn:aws:s3:::{BUCKET}"
    assert plan.outputs["ingest_function_name"] == "wr-root-ingest"
    assert plan.outputs["athena_rides_view"] == "wildrydes.rides_unique"  # what readers query: each ride once


def test_modules_are_wired_to_each_other(plan):
    writer = lambda_function(plan.modules["module.etl_functions"], "writer")["aws_lambda_function.this"][
        "values"
    ]
    assert writer["timeout"] == 30 and writer["function_name"] == "wr-root-writer"
    queues = plan.modules["module.queues"].resources
    # The ingest queue's consumer is enrich: its visibility follows enrich's timeout.
    assert queues['aws_sqs_queue.work["ingest"]']["values"]["visibility_timeout_seconds"] == 6 * 40
    storage = plan.modules["module.storage"].resources
    assert (
        storage["aws_lambda_permission.s3_invokes_ingest[0]"]["values"]["function_name"] == "wr-root-ingest"
    )


def test_ingest_defaults_give_a_1m_ride_file_its_cpu(plan):
    """Root defaults: ingest at 1024 MB (0.58 vCPU on Lambda) and 300 s, the pair measured to ingest a
    1M-ride file with most of the timeout left (docs/design.md "Large files"); enrich and writer keep 256 MB."""
    functions = plan.modules["module.etl_functions"]
    ingest = lambda_function(functions, "ingest")["aws_lambda_function.this"]["values"]
    assert (ingest["memory_size"], ingest["timeout"]) == (1024, 300)
    writer = lambda_function(functions, "writer")["aws_lambda_function.this"]["values"]
    assert writer["memory_size"] == 256


def planned_resources(plan):
    def walk(module):
        yield from module.resources.values()
        for child in module.child_modules.values():
            yield from walk(child)

    return list(walk(plan.root_module))


def test_default_tags_reach_every_taggable_resource(plan):
    tagged = [r for r in planned_resources(plan) if "tags_all" in r["values"]]
    assert tagged, "no taggable resources planned"
    for resource in tagged:
        tags = resource["values"]["tags_all"]
        if tags is not None:  # unknown until apply for a few resource types
            assert tags.get("Project") == "wildrydes-ml", resource["address"]


def test_bad_name_prefix_is_rejected(root):
    error = plan_error(root, {"name_prefix": "WR_root", "data_bucket_name": BUCKET})
    assert "name_prefix must be 3-24 characters" in error


def test_no_sqs_redrive_allow_policy_resource(plan):
    # Its destroy hangs on LocalStack; a DLQ accepts redrives from any queue of the account by default.
    assert not [
        r["address"] for r in planned_resources(plan) if r["type"] == "aws_sqs_queue_redrive_allow_policy"
    ]


def test_no_managed_full_access_policies(plan):
    # Every role carries inline least-privilege policies; the one managed attachment is API Gateway's
    # narrow CloudWatch push policy (a configuration API Gateway requires).
    attachments = [r for r in planned_resources(plan) if r["type"] == "aws_iam_role_policy_attachment"]
    assert not [a for a in attachments if a["address"].startswith("module.sagemaker.")]
    assert all(
        a["values"]["policy_arn"].endswith(":policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs")
        for a in attachments
    )


def test_the_alarm_topic_exists_by_default_with_its_key_and_the_age_alarms(plan):
    etl = plan.modules["module.etl_functions"].resources
    assert etl["aws_sns_topic.alarms[0]"]["values"]["name"] == "wr-root-etl-alarms"
    assert etl["aws_kms_key.alarms[0]"]["values"]["enable_key_rotation"] is True
    ages = {
        k: r["values"] for k, r in etl.items() if k.startswith("aws_cloudwatch_metric_alarm.dlq_message_age")
    }
    assert len(ages) == 3 and {a["threshold"] for a in ages.values()} == {86400}
    duration = etl['aws_cloudwatch_metric_alarm.function["ingest-duration"]']["values"]
    assert duration["threshold"] == 0.8 * 300 * 1000
    assert (
        plan.outputs["dlq_redrive_commands"]["ingest-events-dlq"]
        == "wildrydes redrive --dlq wr-root-ingest-events-dlq"
    )


def test_root_alarm_variables_reach_the_module(root):
    planned = root.plan(
        output=True,
        tf_vars={
            "name_prefix": "wr-root",
            "data_bucket_name": BUCKET,
            "alarm_emails": '["ops@example.com"]',
            "dlq_max_message_age_seconds": 3600,
            "ingest_duration_alarm_fraction": 0.5,
        },
    )
    etl = planned.modules["module.etl_functions"].resources
    subscription = etl['aws_sns_topic_subscription.alarm_email["ops@example.com"]']["values"]
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "ops@example.com")
    ages = [r["values"]["threshold"] for k, r in etl.items() if "dlq_message_age" in k]
    assert ages == [3600] * 3
    assert etl['aws_cloudwatch_metric_alarm.function["ingest-duration"]']["values"]["threshold"] == 150000


def test_root_alarm_variables_are_validated(root):
    error = plan_error(
        root,
        {
            "data_bucket_name": BUCKET,
            "alarm_emails": '["not-an-address"]',
            "dlq_max_message_age_seconds": 1209600,
            "ingest_duration_alarm_fraction": 1,
        },
    )
    assert "alarm_emails must be e-mail addresses" in error
    assert "dlq_max_message_age_seconds must be a whole number from 60 to below 1209600" in error
    assert "ingest_duration_alarm_fraction must be between 0 and 1" in error


def test_without_the_topic_no_alarm_has_actions(root):
    planned = root.plan(
        output=True,
        tf_vars={"name_prefix": "wr-root", "data_bucket_name": BUCKET, "alarm_topic_enabled": "false"},
    )
    alarms = [r for r in planned_resources(planned) if r["type"] == "aws_cloudwatch_metric_alarm"]
    assert len(alarms) >= 3 + 3 + 7 + 6  # DLQ depth and age, ETL functions, inference
    # Known-empty actions, planned as null (with the topic on they are the topic's ARN, unknown at plan time:
    # the key is then absent from the planned values).
    assert not [r["address"] for r in alarms if r["values"].get("alarm_actions", "unknown") not in (None, [])]
    assert not [r for r in planned_resources(planned) if r["type"] in ("aws_sns_topic", "aws_kms_key")]

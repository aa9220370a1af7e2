"""Plan-level rules of modules/queues (offline, tftest)."""

from __future__ import annotations

import pytest
from tfhelpers import offline_module, plan_error

BASE_VARS = {
    "name_prefix": "wr-test",
    "ingest_consumer_timeout_seconds": 30,
    "groundstation_consumer_timeout_seconds": 45,
}
WORK_QUEUES = {"ingest": "wr-test-ingest", "groundstation": "wr-test-groundstation"}
ALL_QUEUE_NAMES = {
    "wr-test-ingest",
    "wr-test-ingest-dlq",
    "wr-test-groundstation",
    "wr-test-groundstation-dlq",
    "wr-test-ingest-events-dlq",
}


@pytest.fixture(scope="module")
def queues(tmp_path_factory, terraform_bin):
    return offline_module(tmp_path_factory.mktemp("queues"), "queues")


@pytest.fixture(scope="module")
def default_plan(queues):
    return queues.plan(output=True, tf_vars=BASE_VARS)


def planned_queues(plan):
    return {r["values"]["name"]: r["values"] for r in plan.resources.values() if r["type"] == "aws_sqs_queue"}


def test_two_work_queues_each_with_a_dlq_and_an_ingest_events_dlq(default_plan):
    queues = planned_queues(default_plan)
    assert set(queues) == ALL_QUEUE_NAMES
    # No redrive-allow policy resource: its destroy hangs on LocalStack.
    assert not [
        r for r in default_plan.resources.values() if r["type"] == "aws_sqs_queue_redrive_allow_policy"
    ]


def test_every_queue_is_encrypted_with_sse_sqs_by_default(default_plan):
    for name, queue in planned_queues(default_plan).items():
        assert queue["sqs_managed_sse_enabled"] is True, name
        assert not queue.get("kms_master_key_id"), name


def test_kms_key_replaces_sse_sqs(queues):
    plan = queues.plan(output=True, tf_vars={**BASE_VARS, "kms_master_key_id": "alias/wr-test"})
    for name, queue in planned_queues(plan).items():
        assert queue["kms_master_key_id"] == "alias/wr-test", name
        assert not queue.get("sqs_managed_sse_enabled"), name


def test_visibility_timeout_is_six_times_the_consumer_timeout(default_plan):
    queues = planned_queues(default_plan)
    assert queues[WORK_QUEUES["ingest"]]["visibility_timeout_seconds"] == 6 * 30
    assert queues[WORK_QUEUES["groundstation"]]["visibility_timeout_seconds"] == 6 * 45


def test_a_larger_multiplier_is_honoured(queues):
    plan = queues.plan(output=True, tf_vars={**BASE_VARS, "visibility_timeout_multiplier": 10})
    assert planned_queues(plan)[WORK_QUEUES["ingest"]]["visibility_timeout_seconds"] == 300


def test_dlqs_keep_messages_longer_than_work_queues(default_plan):
    queues = planned_queues(default_plan)
    for name in ALL_QUEUE_NAMES - set(WORK_QUEUES.values()):
        assert queues[name]["message_retention_seconds"] == 14 * 24 * 3600, name
    for name in WORK_QUEUES.values():
        assert queues[name]["message_retention_seconds"] == 4 * 24 * 3600, name


def test_work_queues_have_a_redrive_policy_naming_their_dlq(default_plan):
    # The DLQ ARN is known only after apply, so check the configuration here; the native test
    # (modules/queues/tests/queues.tftest.hcl) checks the rendered policy with a mock provider.
    changes = default_plan.resource_changes
    for key in WORK_QUEUES:
        assert (
            changes[f'aws_sqs_queue.work["{key}"]']["change"]["after_unknown"].get("redrive_policy") is True
        ), key
    config = {r["address"]: r for r in default_plan.configuration["root_module"]["resources"]}
    references = config["aws_sqs_queue.work"]["expressions"]["redrive_policy"]["references"]
    assert "aws_sqs_queue.dlq" in references
    assert "var.max_receive_count" in references
    assert "redrive_policy" not in config["aws_sqs_queue.dlq"]["expressions"]


def test_visibility_over_the_sqs_maximum_is_rejected(queues):
    error = plan_error(
        queues, {**BASE_VARS, "ingest_consumer_timeout_seconds": 900, "visibility_timeout_multiplier": 60}
    )
    assert (
        "Visibility timeout of wr-test-ingest (consumer timeout x multiplier) exceeds the SQS maximum"
        in error
    )


def test_multiplier_below_six_is_rejected(queues):
    error = plan_error(queues, {**BASE_VARS, "visibility_timeout_multiplier": 5})
    assert "visibility_timeout_multiplier must be a whole number >= 6" in error

"""Event sources through the process executor: S3 notifications, SQS event source mapping, REST API Gateway."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from executor_helpers import deploy, unique, wait_for

pytestmark = pytest.mark.localstack
pytest_plugins = ["executor_helpers"]  # the lam and role_arn fixtures

# Records every S3 event it gets as an object under seen/ (outside the notification filter).
S3_RECORDER = {
    "handler.py": """
        import json, boto3

        def main(event, context):
            s3 = boto3.client("s3")
            for record in event["Records"]:
                bucket = record["s3"]["bucket"]["name"]
                key = record["s3"]["object"]["key"]
                s3.put_object(Bucket=bucket, Key="seen/" + key, Body=json.dumps(record["eventName"]))
    """,
}
# Marks each good message as done; reports poison messages as batch item failures (counting attempts).
SQS_CONSUMER = {
    "handler.py": """
        import json, os, boto3

        def main(event, context):
            s3 = boto3.client("s3")
            bucket = os.environ["RESULT_BUCKET"]
            failures = []
            for record in event["Records"]:
                body = json.loads(record["body"])
                attempt = record["attributes"]["ApproximateReceiveCount"]
                if body.get("poison"):
                    s3.put_object(Bucket=bucket, Key=f"attempts/{body['id']}/{attempt}", Body=b"")
                    failures.append({"itemIdentifier": record["messageId"]})
                else:
                    s3.put_object(Bucket=bucket, Key=f"done/{body['id']}/{attempt}", Body=b"")
            return {"batchItemFailures": failures}
    """,
}
API_HANDLER = {
    "handler.py": """
        import json

        def main(event, context):
            return {
                "statusCode": 201,
                "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"got": json.loads(event["body"]), "method": event["httpMethod"],
                                    "path": event["path"], "stage": event["requestContext"]["stage"]}),
            }
    """,
}
MAX_RECEIVE_COUNT = 2
VISIBILITY_SECONDS = 2
QUIET_SECONDS = 2  # how long we watch for an event that must NOT happen


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_s3_notification_respects_prefix_and_suffix_filter(localstack, lam, role_arn):
    s3 = localstack.client("s3")
    bucket, name = unique("notify"), unique("s3rec")
    s3.create_bucket(Bucket=bucket)
    function_arn = deploy(lam, role_arn, name, S3_RECORDER)
    lam.add_permission(
        FunctionName=name,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": function_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "raw/"},
                                {"Name": "suffix", "Value": ".json"},
                            ]
                        }
                    },
                }
            ],
        },
    )
    s3.put_object(Bucket=bucket, Key="raw/outside.txt", Body=b"{}")  # suffix does not match
    s3.put_object(Bucket=bucket, Key="other/outside.json", Body=b"{}")  # prefix does not match
    s3.put_object(Bucket=bucket, Key="raw/rides.json", Body=b"{}")

    wait_for(lambda: _keys(s3, bucket, "seen/"), 20, "the function to record the matching object")
    time.sleep(QUIET_SECONDS)  # the non-matching uploads came first; give any wrong trigger time to show
    assert _keys(s3, bucket, "seen/") == ["seen/raw/rides.json"]
    lam.delete_function(FunctionName=name)


def test_sqs_partial_batch_failures_are_retried_and_poison_reaches_dlq(localstack, lam, role_arn):
    s3, sqs = localstack.client("s3"), localstack.client("sqs")
    bucket, name = unique("esm-results"), unique("consumer")
    s3.create_bucket(Bucket=bucket)
    dlq_url = sqs.create_queue(QueueName=unique("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=unique("work"),
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_SECONDS),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    deploy(
        lam,
        role_arn,
        name,
        SQS_CONSUMER,
        Timeout=VISIBILITY_SECONDS,
        Environment={"Variables": {"RESULT_BUCKET": bucket}},
    )
    # Send first so that all three arrive in one batch: a partial failure, not three separate invokes.
    sqs.send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": "a", "MessageBody": json.dumps({"id": "a"})},
            {"Id": "p", "MessageBody": json.dumps({"id": "p", "poison": True})},
            {"Id": "b", "MessageBody": json.dumps({"id": "b"})},
        ],
    )
    mapping = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=queue_arn,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    try:
        dead = wait_for(
            lambda: sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1).get("Messages"),
            30,
            "the poison message in the DLQ",
        )
        assert [json.loads(m["Body"]) for m in dead] == [{"id": "p", "poison": True}]
        # Good messages were processed once (first receive) and deleted; only the poison one came back.
        assert _keys(s3, bucket, "done/") == ["done/a/1", "done/b/1"]
        assert _keys(s3, bucket, "attempts/") == [f"attempts/p/{n}" for n in range(1, MAX_RECEIVE_COUNT + 1)]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
        lam.delete_function(FunctionName=name)


def test_rest_api_post_on_root_with_aws_proxy(localstack, lam, role_arn):
    apigw = localstack.client("apigateway")
    name = unique("api")
    function_arn = deploy(lam, role_arn, name, API_HANDLER)
    api_id = apigw.create_rest_api(name=name)["id"]
    root_id = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    apigw.put_method(restApiId=api_id, resourceId=root_id, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=root_id,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{localstack.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    lam.add_permission(
        FunctionName=name,
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )

    url = localstack.api_url(api_id, "prod")
    assert url.startswith("http://127.0.0.1:") and url.endswith("/prod/")
    request = urllib.request.Request(
        url,
        data=json.dumps({"distance": 2.5}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    no_proxy = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never via a proxy
    with no_proxy.open(request, timeout=30) as response:
        status, body = response.status, json.loads(response.read())
    assert status == 201
    assert body == {"got": {"distance": 2.5}, "method": "POST", "path": "/", "stage": "prod"}
    apigw.delete_rest_api(restApiId=api_id)
    lam.delete_function(FunctionName=name)

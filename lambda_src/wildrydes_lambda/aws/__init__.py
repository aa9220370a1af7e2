"""The only code that talks to AWS: one client factory, S3 helpers and the SQS batch sender."""

from wildrydes_lambda.aws.clients import client, make_client, reset_clients
from wildrydes_lambda.aws.s3 import (
    S3_SCHEME,
    S3Location,
    current_version,
    delete_keys,
    get_json,
    is_s3_uri,
    last_modified,
    list_keys,
    open_object,
    parse_s3_uri,
    put_object,
    s3_putter,
)
from wildrydes_lambda.aws.sqs import (
    BatchSendResult,
    SqsBatchSender,
    SqsSendError,
    pack_batches,
    send_in_batches,
)

__all__ = [
    "S3_SCHEME",
    "BatchSendResult",
    "S3Location",
    "SqsBatchSender",
    "SqsSendError",
    "client",
    "current_version",
    "delete_keys",
    "get_json",
    "is_s3_uri",
    "last_modified",
    "list_keys",
    "make_client",
    "open_object",
    "parse_s3_uri",
    "put_object",
    "reset_clients",
    "s3_putter",
    "pack_batches",
    "send_in_batches",
]

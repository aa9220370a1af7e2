"""LocalStack runtime executor ``process``: runs Python zip Lambda functions as local worker processes."""

EXECUTOR_NAME = "process"

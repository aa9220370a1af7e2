"""Contracts between stages, defined once: the bucket layout, the SQS envelope, the processed-CSV
columns and the model's features. Terraform's copies are checked against these by
tests/terraform/test_contracts.py."""

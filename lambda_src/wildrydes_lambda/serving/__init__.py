"""Model serving (the inference function): request parsing, scoring engines, the S3 model cache and
the request -> response service."""

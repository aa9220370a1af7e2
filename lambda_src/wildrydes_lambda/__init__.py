"""wildrydes_lambda: the code the Lambda functions run, one subpackage per concern.

- ``contracts``: what stages agree on (bucket layout, message envelope, processed-CSV columns, model features)
- ``aws``: the only code that talks to AWS (one client factory, S3 helpers, the SQS batch sender)
- ``etl``: validation, streaming, grouping, enrichment, stations, CSV output and quarantine (ingest/enrich/writer)
- ``model_format``: the SageMaker Linear Learner artifact reader/writer (serving and training share it)
- ``serving``: request parsing, scoring engines, the model cache and the request -> response service (inference)

``settings`` holds the environment parsing every function uses. Each function zip carries only the
subpackages it runs (``wildrydes_dev.build_zip``).
"""

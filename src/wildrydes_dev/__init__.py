"""wildrydes_dev: the project's own tooling (not shipped to AWS), run as ``python -m wildrydes_dev.<tool>``.

- ``build_zip`` / ``build_layer``: reproducible function zips and the MXNet layer (``make package``)
- ``emulators`` / ``localaws`` / ``tf_local``: LocalStack + moto without Docker and Terraform against them
- ``demo``: ``make demo``; ``reliability_report``: docs/reliability.md; ``find_python``: locate interpreters
"""

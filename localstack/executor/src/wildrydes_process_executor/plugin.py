"""The plux plugin LocalStack finds under ``localstack.lambda.runtime_executor`` (selected by
``LAMBDA_RUNTIME_EXECUTOR=process``). The executor module is imported only when LocalStack loads it."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin

from . import EXECUTOR_NAME


class ProcessRuntimeExecutorPlugin(RuntimeExecutorPlugin):
    name = EXECUTOR_NAME

    def load(self, *args, **kwargs):
        from .executor import ProcessRuntimeExecutor

        return ProcessRuntimeExecutor

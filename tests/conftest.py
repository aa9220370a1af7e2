"""Shared pytest fixtures.

Local emulators (owner: localstack) — session fixtures every integration test uses:

``localstack``
    Starts LocalStack (host mode, ``process`` Lambda executor) + a moto server for the whole session and
    yields a :class:`LocalStackHandle` (ports, endpoint URLs, ``env`` for subprocesses, ``client(service)``).
    Ports: ``WILDRYDES_TEST_LOCALSTACK_PORT`` if set, else a free pair (so a developer's ``make localstack-up``
    on 4566 never collides). ``WILDRYDES_REUSE_LOCALSTACK=1`` reuses the instance already running on
    ``LOCALSTACK_PORT``/``MOTO_PORT`` (default 4566/4567) and leaves it running. It never skips: when the
    emulators cannot start or the executor is not active, every test using it fails with the reason.
    While the session runs, ``LOCALSTACK_PORT``/``MOTO_PORT`` point at it, so ``wildrydes_dev/localaws.py`` and code
    under test find it without arguments.

``tf_local``
    Applies the ROOT Terraform module to that instance once per session: ``tf_local.apply()`` returns
    ``terraform output -json`` as a dict (``{name: {"value": ..., "type": ..., "sensitive": ...}}``);
    ``tf_local.output(name)`` gives one value. Working dir: ``build/tf-local/<port>/``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from wildrydes_dev import emulators, localaws
from wildrydes_dev import tf_local as tf_local_tool

ROOT = Path(__file__).resolve().parents[1]

REUSE_ENV = "WILDRYDES_REUSE_LOCALSTACK"
TEST_PORT_ENV = "WILDRYDES_TEST_LOCALSTACK_PORT"


@dataclasses.dataclass
class LocalStackHandle:
    instance: emulators.Instance
    started_here: bool

    @property
    def port(self) -> int:
        return self.instance.port

    @property
    def moto_port(self) -> int:
        return self.instance.moto_port

    @property
    def endpoint_url(self) -> str:
        return self.instance.endpoint_url

    @property
    def moto_endpoint_url(self) -> str:
        return self.instance.moto_endpoint_url

    @property
    def env(self) -> dict[str, str]:
        """Credentials, region and endpoint variables for a subprocess (CLI, Terraform)."""
        return self.instance.env()

    region = localaws.REGION
    account_id = localaws.ACCOUNT_ID

    def client(self, service: str, **kwargs):
        """boto3 client on the right emulator (athena/glue/sagemaker -> moto, the rest -> LocalStack)."""
        return self.instance.client(service, **kwargs)

    def api_url(self, api_id: str, stage: str, path: str = "") -> str:
        return localaws.api_gateway_url(api_id, stage, path, self.port)

    def worker_pids(self) -> list[int]:
        """PIDs of the running Lambda worker processes."""
        return self.instance.worker_pids()


def start_localstack_or_fail(
    port: int | None = None,
    moto_port: int | None = None,
    *,
    executor: str = emulators.EXECUTOR_NAME,
    with_moto: bool = True,
) -> LocalStackHandle:
    """Start an instance or fail the calling test/fixture loudly (pytest.fail, never skip)."""
    if port is None:
        port, moto_port = emulators.free_port_pair()
    try:
        instance = emulators.start(port, moto_port or port + 1, executor=executor, with_moto=with_moto)
    except emulators.EmulatorError as exc:
        pytest.fail(f"local emulators unavailable: {exc}", pytrace=False)
    return LocalStackHandle(instance, started_here=True)


def reuse_running_or_fail() -> LocalStackHandle:
    instance = emulators.Instance(localaws.localstack_port(), localaws.moto_port())
    try:
        instance.client("s3").list_buckets()
        instance.client("lambda").list_functions()
        emulators.verify_executor(instance, wait_seconds=0)
    except Exception as exc:
        pytest.fail(
            f"{REUSE_ENV}=1 but no usable LocalStack on port {instance.port} "
            f"(`make localstack-up LOCALSTACK_PORT={instance.port}`): {exc}",
            pytrace=False,
        )
    return LocalStackHandle(instance, started_here=False)


@pytest.fixture(scope="session")
def localstack():
    if os.environ.get(REUSE_ENV) == "1":
        handle = reuse_running_or_fail()
    else:
        configured = os.environ.get(TEST_PORT_ENV)
        handle = start_localstack_or_fail(int(configured) if configured else None)
    saved = {key: os.environ.get(key) for key in ("LOCALSTACK_PORT", "MOTO_PORT")}
    os.environ["LOCALSTACK_PORT"], os.environ["MOTO_PORT"] = str(handle.port), str(handle.moto_port)
    try:
        yield handle
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if handle.started_here:
            emulators.stop(handle.instance)


# Root variables for the session's stack, tuned for tests rather than production: no SQS batching
# window (LocalStack runs one poller per mapping, so a 1 s window caps the ETL at ~10 messages/s) and a
# short model re-check so "publish a new model" is seen in seconds; no API Gateway body validation, because
# LocalStack 4.x validates every content type against the application/json model (AWS only the matching
# one), which would refuse text/csv and JSON Lines; inference alarms on 10 s periods, one period to fire
# (LocalStack evaluates an alarm every period x evaluation periods, so the production 60 s x 3 would take
# minutes to show an alarm firing). The DLQ-age alarms fire after a minute instead of a day, so the
# reliability suite can watch one reach ALARM (no other test publishes that metric). Every integration
# test shares this one apply; a test that needs other values passes them to apply() and pays a second apply.
TEST_STACK_VARIABLES = {
    "sqs_batching_window_seconds": "0",
    "dlq_max_message_age_seconds": "60",
    "inference_model_recheck_seconds": "5",
    "inference_json_body_validation": "false",
    "inference_alarm_period_seconds": "10",
    "inference_alarm_evaluation_periods": "1",
}


class TfLocalSession:
    """Applies the root module at most once per session (per variable set) and remembers the outputs."""

    def __init__(self, handle: LocalStackHandle):
        self.handle = handle
        self._applied: dict[tuple, dict] = {}
        self.tf: tf_local_tool.TfLocal | None = None

    def apply(self, **variables: str) -> dict:
        variables = {**TEST_STACK_VARIABLES, **variables}
        key = tuple(sorted(variables.items()))
        if key not in self._applied:
            self.tf = tf_local_tool.TfLocal(self.handle.port, self.handle.moto_port, variables)
            try:
                self._applied[key] = self.tf.apply()
            except tf_local_tool.TerraformError as exc:
                pytest.fail(f"terraform apply of the root module on LocalStack failed: {exc}", pytrace=False)
        return self._applied[key]

    def output(self, name: str):
        outputs = self.apply() if not self._applied else next(reversed(self._applied.values()))
        return outputs[name]["value"]

    @property
    def apply_seconds(self) -> float | None:
        return self.tf.last_apply_seconds if self.tf else None


@pytest.fixture(scope="session")
def tf_local(localstack):
    work_dir = tf_local_tool.WORK_ROOT / str(localstack.port)
    if localstack.started_here:
        # A fresh emulator has no resources: state left from an earlier run on the same port is stale.
        shutil.rmtree(work_dir, ignore_errors=True)
    session = TfLocalSession(localstack)
    yield session
    if localstack.started_here:
        shutil.rmtree(work_dir, ignore_errors=True)  # the resources die with the emulator

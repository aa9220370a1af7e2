"""Worker lifecycle: layers, updates, deletion, concurrency, and no worker outliving LocalStack."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest
from executor_helpers import deploy, ensure_role, invoke, make_zip, pid_alive, unique, wait_for, wait_updated

from conftest import start_localstack_or_fail
from wildrydes_dev import emulators

pytestmark = pytest.mark.localstack
pytest_plugins = ["executor_helpers"]  # the lam and role_arn fixtures

# Reports which layer files it sees (imported at invoke time so a missing layer is a value, not an init error).
LAYER_PROBE = {
    "handler.py": """
        import importlib, os, sys

        def _value(module):
            try:
                return importlib.import_module(module).VALUE
            except ImportError:
                return None

        def main(event, context):
            for name in ("shared", "only_first", "from_site_packages"):
                sys.modules.pop(name, None)
            return {"shared": _value("shared"), "only_first": _value("only_first"),
                    "site": _value("from_site_packages"), "task_root_first": sys.path[0] == os.getcwd()}
    """,
}
PID_REPORTER = {
    "handler.py": """
        import os, time
        VERSION = "v1"

        def main(event, context):
            time.sleep(event.get("sleep", 0))
            return {"pid": os.getpid(), "version": VERSION, "colour": os.environ.get("COLOUR")}
    """,
}
WORKER_EXIT_SECONDS = 10  # LocalStack stops old environments asynchronously after an update


def _layer_zip(files: dict[str, str]) -> bytes:
    return make_zip(files)


def _publish_layer(lam, files: dict[str, str]) -> str:
    return lam.publish_layer_version(
        LayerName=unique("layer"), Content={"ZipFile": _layer_zip(files)}, CompatibleRuntimes=["python3.13"]
    )["LayerVersionArn"]


def test_layers_merge_in_order_and_removing_one_takes_effect(lam, role_arn):
    first = _publish_layer(
        lam,
        {
            "python/shared.py": "VALUE = 'first'\n",
            "python/only_first.py": "VALUE = 'only in first'\n",
            "python/lib/python3.13/site-packages/from_site_packages.py": "VALUE = 'site-packages'\n",
        },
    )
    second = _publish_layer(lam, {"python/shared.py": "VALUE = 'second'\n"})
    name = unique("layers")
    deploy(lam, role_arn, name, LAYER_PROBE, Layers=[first, second])
    try:
        result, error, _ = invoke(lam, name)
        assert error is None, result
        assert result == {
            "shared": "second",
            "only_first": "only in first",
            "site": "site-packages",
            "task_root_first": True,
        }

        lam.update_function_configuration(FunctionName=name, Layers=[first])
        wait_updated(lam, name)
        result, _, _ = invoke(lam, name)
        assert result["shared"] == "first" and result["only_first"] == "only in first"

        lam.update_function_configuration(FunctionName=name, Layers=[])
        wait_updated(lam, name)
        result, _, _ = invoke(lam, name)
        assert result == {"shared": None, "only_first": None, "site": None, "task_root_first": True}
    finally:
        lam.delete_function(FunctionName=name)


def test_code_and_config_updates_replace_the_worker_and_delete_stops_it(lam, role_arn):
    name = unique("updates")
    deploy(lam, role_arn, name, PID_REPORTER)
    first, _, _ = invoke(lam, name)
    assert first["version"] == "v1" and pid_alive(first["pid"])

    new_code = {"handler.py": PID_REPORTER["handler.py"].replace('VERSION = "v1"', 'VERSION = "v2"')}
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(new_code))
    wait_updated(lam, name)
    second, _, _ = invoke(lam, name)
    assert second["version"] == "v2" and second["pid"] != first["pid"]
    wait_for(lambda: not pid_alive(first["pid"]), WORKER_EXIT_SECONDS, "the pre-update worker to stop")

    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOUR": "green"}})
    wait_updated(lam, name)
    third, _, _ = invoke(lam, name)
    assert third["colour"] == "green" and third["pid"] != second["pid"]
    wait_for(
        lambda: not pid_alive(second["pid"]), WORKER_EXIT_SECONDS, "the pre-config-update worker to stop"
    )

    lam.delete_function(FunctionName=name)
    wait_for(
        lambda: not pid_alive(third["pid"]), WORKER_EXIT_SECONDS, "the deleted function's worker to stop"
    )


def test_one_worker_per_concurrent_invocation(lam, role_arn):
    name = unique("concurrent")
    deploy(lam, role_arn, name, PID_REPORTER)
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda _: invoke(lam, name, {"sleep": 1})[0], range(3)))
        assert len({r["pid"] for r in results}) == 3
    finally:
        lam.delete_function(FunctionName=name)


def test_no_worker_outlives_a_killed_localstack(tmp_path):
    """SIGKILL gives LocalStack no chance to clean up: the workers' parent-death guard must end them."""
    handle = start_localstack_or_fail(with_moto=False)
    try:
        lam = handle.client("lambda")
        name = unique("orphan")
        deploy(lam, ensure_role(handle.client("iam")), name, PID_REPORTER)
        with ThreadPoolExecutor(max_workers=2) as pool:
            pids = {r["pid"] for r in pool.map(lambda _: invoke(lam, name, {"sleep": 1})[0], range(2))}
        assert pids and all(pid_alive(pid) for pid in pids)
        assert pids <= set(handle.worker_pids())
        localstack_pid = int(handle.instance.localstack_pid_file.read_text())
        os.kill(localstack_pid, signal.SIGKILL)
        wait_for(lambda: not any(pid_alive(pid) for pid in pids), 5, f"workers {pids} to die with LocalStack")
    finally:
        emulators.stop(handle.instance)

"""Lambda-faithful limits (WILDRYDES_EXECUTOR_LIMITS=on): MemorySize is a hard memory limit and the CPU share
is MemorySize/1769 of a vCPU. Runs on its own LocalStack with the limits on, whatever the default is."""

from __future__ import annotations

import json
import os
import time

import pytest
from executor_helpers import deploy, ensure_role, invoke, unique

from conftest import start_localstack_or_fail
from wildrydes_dev import emulators

pytestmark = pytest.mark.localstack

LIMITS_ENV = "WILDRYDES_EXECUTOR_LIMITS"
MB_PER_VCPU = 1769
GREEDY = {
    "handler.py": """
        import os

        def main(event, context):
            chunks = []
            for _ in range(event["mb"] // 8):
                chunks.append(b"x" * (8 * 1024 * 1024))  # written, so really resident
            return {"allocated_mb": len(chunks) * 8, "pid": os.getpid()}
    """,
}
SPINNER = {
    "handler.py": """
        import time

        def main(event, context):
            started_wall, started_cpu = time.monotonic(), time.process_time()
            n = 0
            while time.process_time() - started_cpu < event["cpu_seconds"]:
                n += sum(range(1000))
            cpu_cgroup = next((line.split(":", 2)[2].strip() for line in open("/proc/self/cgroup")
                               if line.split(":")[1] in ("cpu", "cpu,cpuacct")), None)
            return {"wall": time.monotonic() - started_wall, "cpu": time.process_time() - started_cpu,
                    "cpu_cgroup": cpu_cgroup}
    """,
}
CPU_WORK_SECONDS = 0.1  # CPU time each measurement burns: ~0.1 s at 1,769 MB, ~1.4 s at 128 MB
CPU_SAMPLES = 3
RATIO_TOLERANCE = 0.3
CGROUP_CPU = "/sys/fs/cgroup/cpu"


@pytest.fixture(scope="module")
def limited():
    saved = os.environ.get(LIMITS_ENV)
    os.environ[LIMITS_ENV] = "on"
    try:
        handle = start_localstack_or_fail(with_moto=False)
    finally:
        if saved is None:
            os.environ.pop(LIMITS_ENV, None)
        else:
            os.environ[LIMITS_ENV] = saved
    try:
        marker = json.loads(handle.instance.marker.read_text())
        assert marker["limits"] in ("cgroup-v1", "cgroup-v2"), marker  # these machines have cgroups
        yield handle
    finally:
        emulators.stop(handle.instance)


@pytest.fixture(scope="module")
def lam(limited):
    return limited.client("lambda")


@pytest.fixture(scope="module")
def role(limited):
    return ensure_role(limited.client("iam"))


def test_allocating_past_memory_size_fails_like_lambda_and_the_next_invoke_works(lam, role):
    name = unique("greedy")
    deploy(lam, role, name, GREEDY, MemorySize=128, Timeout=30)
    try:
        result, error, log = invoke(lam, name, {"mb": 256})
        assert error == "Unhandled", result
        assert result["errorType"] == "Runtime.OutOfMemory", result
        assert result["errorMessage"].endswith("Error: Runtime exited with error: signal: killed")
        assert "Runtime.OutOfMemory" in log
        result, error, _ = invoke(lam, name, {"mb": 40})  # a fresh worker, well within 128 MB
        assert error is None and result["allocated_mb"] == 40
    finally:
        lam.delete_function(FunctionName=name)


def test_the_limit_is_memory_size_not_less(lam, role):
    name = unique("roomy")
    deploy(lam, role, name, GREEDY, MemorySize=512, Timeout=30)
    try:
        result, error, log = invoke(lam, name, {"mb": 256})
        assert error is None and result["allocated_mb"] == 256, result
        assert "Memory Size: 512 MB" in log
    finally:
        lam.delete_function(FunctionName=name)


def test_out_of_memory_async_invoke_is_retried_then_sent_to_the_on_failure_destination(limited, lam, role):
    """Lambda's async rules: a failed (OOM) invocation is retried MaximumRetryAttempts times, then the
    on-failure destination gets the record."""
    sqs = limited.client("sqs")
    queue_url = sqs.create_queue(QueueName=unique("oom-failures"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    name = unique("greedy-async")
    deploy(lam, role, name, GREEDY, MemorySize=128, Timeout=30)
    try:
        lam.put_function_event_invoke_config(
            FunctionName=name,
            MaximumRetryAttempts=1,
            DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        )
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"mb": 256}).encode())
        deadline = time.monotonic() + 90
        record = None
        while record is None and time.monotonic() < deadline:
            messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2).get("Messages", [])
            record = json.loads(messages[0]["Body"]) if messages else None
        assert record is not None, "no on-failure record after 90 s"
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 2  # the first try + 1 retry
        assert record["responsePayload"]["errorType"] == "Runtime.OutOfMemory"
    finally:
        lam.delete_function(FunctionName=name)
        sqs.delete_queue(QueueUrl=queue_url)


def _cpu_run(lam, name: str) -> dict:
    result, error, _ = invoke(lam, name, {"cpu_seconds": CPU_WORK_SECONDS})
    assert error is None, result
    return result


def test_cpu_share_scales_with_memory_like_lambda(lam, role):
    small, large = unique("cpu128"), unique("cpu1769")
    deploy(lam, role, small, SPINNER, MemorySize=128, Timeout=60)
    deploy(lam, role, large, SPINNER, MemorySize=MB_PER_VCPU, Timeout=60)
    try:
        for name in (small, large):  # warm: the cold start is not part of the measurement
            invoke(lam, name, {"cpu_seconds": 0.001})
        runs = {small: [], large: []}
        for _ in range(CPU_SAMPLES):  # interleaved, so both see the same machine
            for name in (small, large):
                runs[name].append(_cpu_run(lam, name))
        small_wall = min(r["wall"] for r in runs[small])
        large_wall = min(r["wall"] for r in runs[large])
        # What the machine gave the 1,769 MB run: a whole core when idle; less when other work competes for
        # the 2 cores, which only the wall time of the unthrottled run shows (its quota is one full core).
        large_share = min(1.0, max(r["cpu"] / r["wall"] for r in runs[large]))
        lambda_ratio = MB_PER_VCPU / 128
        ratio = small_wall / large_wall
        expected = lambda_ratio * large_share
        print(
            f"\nCPU-bound {CPU_WORK_SECONDS}s of CPU: 128 MB took {small_wall:.3f}s, "
            f"1769 MB {large_wall:.3f}s "
            f"(it got {large_share:.2f} of a core); ratio {ratio:.1f}, Lambda's {lambda_ratio:.1f}, "
            f"expected here {expected:.1f}"
        )
        assert ratio == pytest.approx(expected, rel=RATIO_TOLERANCE)
        if _cgroups_v1():  # the kernel throttled the 128 MB worker, never the 1,769 MB one
            assert _throttled(runs[small][0]["cpu_cgroup"]) > 0
            assert _throttled(runs[large][0]["cpu_cgroup"]) == 0
    finally:
        lam.delete_function(FunctionName=small)
        lam.delete_function(FunctionName=large)


def _cgroups_v1() -> bool:
    return os.path.isdir(CGROUP_CPU)


def _throttled(cgroup_path: str) -> int:
    with open(f"{CGROUP_CPU}{cgroup_path}/cpu.stat") as stat_file:
        stat = dict(line.split() for line in stat_file)
    return int(stat["nr_throttled"])

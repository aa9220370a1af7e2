"""The session fixture's start-up helper fails loudly (pytest failure, never a skip)."""

from __future__ import annotations

import pytest

from conftest import start_localstack_or_fail
from wildrydes_dev import emulators

pytestmark = pytest.mark.localstack


def test_fails_loudly_when_the_process_executor_is_not_active():
    port, moto_port = emulators.free_port_pair()
    # An executor name LocalStack does not know makes it fall back to docker silently: we must notice.
    with pytest.raises(pytest.fail.Exception) as failure:
        start_localstack_or_fail(port, moto_port, executor="docker", with_moto=False)
    assert "'process' Lambda runtime executor is NOT active" in str(failure.value)
    assert not emulators.port_in_use(port), "the failed start must stop what it started"


def test_fails_loudly_when_localstack_cannot_start(monkeypatch, tmp_path):
    monkeypatch.setattr(emulators, "LOCALSTACK_VENV", tmp_path / "no-such-venv")
    with pytest.raises(pytest.fail.Exception) as failure:
        start_localstack_or_fail()
    assert "LocalStack venv missing" in str(failure.value)
    assert "make localstack-venv" in str(failure.value)

"""Start LocalStack with its gateway bound to the host of ``GATEWAY_LISTEN`` (loopback), then run it unchanged.

LocalStack 4.14.0's default (twisted) gateway ignores the host of ``GATEWAY_LISTEN`` for IPv4 and listens on
every interface (``runtime/server/twisted.py``: ``TCP4ServerEndpoint(reactor, port)``, "TODO: interface =
host?"). 4.14.0 is the last community release and gets no security fixes, so the emulator must be reachable
from this machine only. The hypercorn gateway binds correctly but closes S3 uploads of a few hundred KB
mid-request (``ConnectionClosedError`` from botocore), so the twisted gateway stays and this entry point gives
its IPv4 endpoints the listen host as their default interface before ``localstack.runtime.main`` runs.

Run as ``python -m wildrydes_process_executor.localstack_main`` from LocalStack's venv (wildrydes_dev/emulators.py).
"""

from __future__ import annotations

import os
import runpy

LISTEN_ENV = "GATEWAY_LISTEN"
LOCALSTACK_MAIN = "localstack.runtime.main"


def listen_host(value: str | None) -> str:
    """The IPv4 host of the first ``host:port`` in ``GATEWAY_LISTEN`` ("" = every interface, LocalStack's own
    default); IPv6 hosts are already bound by LocalStack itself."""
    first = (value or "").split(",")[0].strip()
    host, sep, _port = first.rpartition(":")
    if not sep or host.startswith("[") or ":" in host:
        return ""
    return host


def bind_ipv4_endpoints_to(host: str, endpoints=None) -> None:
    """Make ``host`` the default interface of twisted's IPv4 server endpoints (an explicit one still wins).
    ``endpoints`` is ``twisted.internet.endpoints`` (LocalStack's venv has twisted); tests pass a stand-in."""
    if endpoints is None:
        from twisted.internet import endpoints

    original = endpoints.TCP4ServerEndpoint

    def bound(reactor, port, backlog=50, interface=""):  # same signature as twisted's
        return original(reactor, port, backlog, interface or host)

    endpoints.TCP4ServerEndpoint = bound  # type: ignore[misc]


def main() -> None:
    host = listen_host(os.environ.get(LISTEN_ENV))
    if host:
        bind_ipv4_endpoints_to(host)
    runpy.run_module(LOCALSTACK_MAIN, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

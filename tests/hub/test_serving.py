"""``hub serve`` turns Nagle's algorithm off on every connection, ``--workers N`` included.

uvicorn binds the listener itself for ``--workers N`` with ``proto`` 0, and asyncio sets
TCP_NODELAY only on sockets reporting IPPROTO_TCP (Kludex/uvicorn#3149): without ``hub.serving``
each keep-alive response waited ~40 ms for the client's delayed ACK (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import socket
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner
from uvicorn.server import ServerState

from hub import cli
from hub.serving import HTTPProtocol
from hub.settings import Settings


async def _hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _nodelay_of_accepted_connections(protocol: type[asyncio.Protocol]) -> list[int]:
    """Serve two keep-alive requests on a listener bound as uvicorn binds it for ``--workers N``;
    the TCP_NODELAY of the connection the server accepted, as seen after each response."""
    listener = socket.socket(family=socket.AF_INET)  # proto 0, like uvicorn's Config.bind_socket
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: list[int] = []
    transports: list[asyncio.BaseTransport] = []

    class Probe(protocol):  # type: ignore[misc,valid-type]
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            super().connection_made(transport)
            transports.append(transport)

    async def run() -> None:
        config = uvicorn.Config(_hello, log_config=None)
        config.load()
        state = ServerState()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: Probe(config=config, server_state=state, app_state={}), sock=listener
        )
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        for _ in range(2):
            writer.write(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            await reader.readuntil(b"\r\n\r\nok")
            sock = transports[0].get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()
        server.close()
        await server.wait_closed()

    asyncio.run(run())
    return seen


def test_the_hub_protocol_sets_tcp_nodelay_on_a_listener_uvicorn_bound() -> None:
    assert all(_nodelay_of_accepted_connections(HTTPProtocol))


def test_such_a_listener_alone_leaves_nagle_on() -> None:
    """Why the hub sets it: the condition of uvicorn#3149 (if this fails, uvicorn fixed it upstream
    and ``hub.serving`` is no longer needed)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    assert not any(_nodelay_of_accepted_connections(AutoHTTPProtocol))


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_hands_uvicorn_the_hub_protocol(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    runs: list[dict[str, Any]] = []
    monkeypatch.setenv("HUB_PUBLIC_URL", "http://127.0.0.1:8000")  # serve would set it for its workers
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: runs.append(kwargs))
    settings = Settings()
    monkeypatch.setattr(
        cli, "prepared_state", lambda *_: SimpleNamespace(settings=settings, close=lambda: None)
    )
    result = CliRunner().invoke(cli.app, ["serve", "--workers", str(workers)])
    assert result.exit_code == 0, result.output
    assert [r["http"] for r in runs] == [HTTPProtocol]


@pytest.mark.parametrize(
    ("storage", "warned"), [("memory://", True), ("redis://127.0.0.1:6379/0", False)], ids=["memory", "redis"]
)
def test_serve_with_workers_says_when_rate_limits_are_counted_per_worker(
    monkeypatch: pytest.MonkeyPatch, storage: str, warned: bool
) -> None:
    monkeypatch.setenv("HUB_LIMITS__RATE_STORAGE_URL", storage)
    monkeypatch.setenv("HUB_PUBLIC_URL", "http://127.0.0.1:8000")  # serve would set it for its workers
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    settings = Settings()
    monkeypatch.setattr(
        cli, "prepared_state", lambda *_: SimpleNamespace(settings=settings, close=lambda: None)
    )
    result = CliRunner().invoke(cli.app, ["serve", "--workers", "3"])
    assert result.exit_code == 0, result.output
    assert ("HUB_LIMITS__RATE_STORAGE_URL" in result.output) is warned, result.output

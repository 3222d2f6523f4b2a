"""``hub serve`` turns Nagle's algorithm off on every connection, ``--workers N`` included, and
answers request targets sent in raw UTF-8 as their percent-encoded form.

uvicorn binds the listener itself for ``--workers N`` with ``proto`` 0, and asyncio sets
TCP_NODELAY only on sockets reporting IPPROTO_TCP (Kludex/uvicorn#3149): without ``hub.serving``
each keep-alive response waited ~40 ms for the client's delayed ACK (docs/benchmarks.md).

curl sends ``GET /api/v1/search?q=执照`` as typed; h11 refused it (``Invalid HTTP request
received.``), the README's first call included."""

from __future__ import annotations

import asyncio
import json
import socket
from types import SimpleNamespace
from typing import Any

import h11
import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session
from typer.testing import CliRunner
from uvicorn.server import ServerState

from hub import cli
from hub.app import create_app
from hub.serving import HTTPProtocol
from hub.settings import Settings
from hub.state import HubState
from tests.factories import add_org, bearer, client_token
from tests.live import FIELDS, LiveHubs, new_uscc
from tests.served import raw_get, served

SEARCH_RAW = "/api/v1/search?q=执照".encode()
SEARCH_ENCODED = b"/api/v1/search?q=%E6%89%A7%E7%85%A7"


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


# -- request targets in raw UTF-8 ---------------------------------------------------------------


def _answers(base_url: str, *targets: bytes) -> list[tuple[int, dict[str, Any]]]:
    answers = []
    for target in targets:
        response, body = raw_get(base_url, target)
        answers.append((response.status, json.loads(body)))
    return answers


def test_a_raw_utf8_search_is_answered_as_its_percent_encoded_form(
    hub_state: HubState, session: Session
) -> None:
    org = add_org(hub_state, session)
    admin = bearer(client_token(hub_state, session, admin=True))
    definition = {
        "name": "营业执照",
        "holder_kind": "001",
        "issuers": [org],
        "sharing": "conditional",
        "fields": FIELDS,
    }
    with served(create_app(state=hub_state)) as url:
        put = httpx.put(f"{url}/api/v1/certificate-types/{org}001", json=definition, headers=admin)
        assert put.status_code == 201, put.text
        (raw_status, raw), (encoded_status, encoded) = _answers(url, SEARCH_RAW, SEARCH_ENCODED)
    assert (raw_status, encoded_status) == (200, 200)
    assert raw == encoded
    assert {"kind": "certificate-type", "code": f"{org}001", "name": "营业执照"} in raw["hits"]


def test_a_raw_utf8_path_is_decoded_like_its_percent_encoded_form(hub_state: HubState) -> None:
    with served(create_app(state=hub_state)) as url:
        raw, encoded = _answers(
            url,
            "/api/v1/one-things/出生一件事".encode(),
            b"/api/v1/one-things/%E5%87%BA%E7%94%9F%E4%B8%80%E4%BB%B6%E4%BA%8B",
        )
    assert raw[0] == encoded[0] == 404
    assert raw[1]["detail"] == encoded[1]["detail"] and "出生一件事" in raw[1]["detail"]


def test_a_target_that_is_not_utf8_is_no_server_error(hub_state: HubState) -> None:
    """GBK bytes, as a script on a Chinese Windows might send them: U+FFFD, never a 400 or a 500."""
    with served(create_app(state=hub_state)) as url:
        [(status, answer)] = _answers(url, "/api/v1/search?q=执照".encode("gbk"))
    assert status == 200 and answer["total"] == len(answer["hits"])


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
    answer = {"path": scope["path"], "query": scope["query_string"].decode("latin-1"), "headers": headers}
    body = json.dumps(answer).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _echoes(requests: list[list[bytes]]) -> list[dict[str, Any]]:
    """What the app saw of each request, sent one after the other on one keep-alive connection,
    each head in its packets: a packet is sent once the server holds the one before (so the
    request line is read in pieces)."""
    protocols: list[HTTPProtocol] = []

    class Probe(HTTPProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            protocols.append(self)

    async def held(before: bytes) -> None:
        while not protocols or protocols[0].conn.trailing_data[0] == before:
            if protocols and protocols[0].conn.their_state is h11.ERROR:
                return  # refused: the answer says why
            await asyncio.sleep(0)

    async def run() -> list[bytes]:
        config = uvicorn.Config(_echo, log_config=None)
        config.load()
        state = ServerState()
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: Probe(config=config, server_state=state, app_state={}), "127.0.0.1", 0
        )
        reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname())
        bodies = []
        for packets in requests:
            for packet in packets[:-1]:
                before = protocols[0].conn.trailing_data[0] if protocols else b""
                writer.write(packet)
                await held(before)
            writer.write(packets[-1])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            bodies.append(await reader.readexactly(length))
        writer.close()
        server.close()
        await server.wait_closed()
        return bodies

    return [json.loads(body) for body in asyncio.run(run())]


def test_a_request_line_split_across_packets_is_encoded_whole() -> None:
    line = "GET /路径?q=执照 HTTP/1.1\r".encode()
    cut = line.index("径".encode()) + 1  # inside a character
    [seen] = _echoes([[line[:cut], line[cut:], "\nHost: t\r\nX-Name: 执照\r\n\r\n".encode()]])
    assert seen["path"] == "/路径"
    assert seen["query"] == "q=%E6%89%A7%E7%85%A7"
    assert seen["headers"]["x-name"] == "执照".encode().decode("latin-1"), "a header is never rewritten"


def test_every_request_of_a_keep_alive_connection_may_be_raw_utf8() -> None:
    requests = [[f"GET /{word}?q={word} HTTP/1.1\r\nHost: t\r\n\r\n".encode()] for word in ("执照", "出生")]
    seen = _echoes(requests)
    assert [(s["path"], s["query"]) for s in seen] == [
        ("/执照", "q=%E6%89%A7%E7%85%A7"),
        ("/出生", "q=%E5%87%BA%E7%94%9F"),
    ]


def test_hub_serve_with_workers_answers_a_raw_utf8_search(live_hubs: LiveHubs) -> None:
    hub = live_hubs.server()
    hub.serve_args = ["--workers", "2"]
    hub.start()
    org = new_uscc()
    hub.load_catalog(
        {
            "organizations": [{"code": org, "name": "实况测试局", "kind": "department"}],
            "certificate_types": [
                {
                    "code": f"{org}001",
                    "name": "营业执照",
                    "holder_kind": "001",
                    "issuers": [org],
                    "sharing": "conditional",
                    "fields": FIELDS,
                }
            ],
        }
    )
    (raw_status, raw), (encoded_status, encoded) = _answers(hub.url, SEARCH_RAW, SEARCH_ENCODED)
    assert (raw_status, encoded_status) == (200, 200)
    assert raw == encoded and {h["code"] for h in raw["hits"]} == {f"{org}001"}

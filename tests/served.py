"""A test's own hub application over real HTTP, and requests whose body is never sent.

``served(app)`` runs uvicorn in a thread on a free loopback port (the app's lifespan included),
with the HTTP protocol ``hub serve`` uses (``hub.serving``), and stops it at the end.
``send_unread`` sends a request straight through ASGI, inside a running
``TestClient`` (so the lifespan has run), and counts how often the app asked for the body.
``post_head_only`` sends a request head over a socket with only the first bytes of the body it
announces, and reads the answer: a server that waited for the body would never answer.
``raw_get`` sends a request line exactly as given (raw UTF-8 included), as curl does.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from fastapi.testclient import TestClient

from hub.serving import HTTPProtocol

STARTUP_SECONDS = 30.0


@contextlib.contextmanager
def served(app: Any, *, port: int = 0) -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (``port``, by default a free one), through the HTTP
    protocol ``hub serve`` uses; yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, http=HTTPProtocol, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="served-hub", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("uvicorn did not start serving the test app")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)


def send_unread(
    client: TestClient, method: str, path: str, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[str, Any], int]:
    """One request through ASGI whose body is never sent: (status, problem, body reads).

    ``client`` must be entered (``with TestClient(app) as client``): the app's lifespan runs."""
    reads = 0

    async def receive() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"0" * 65536, "more_body": True}

    sent: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    client.portal.call(client.app, scope, receive, send)  # type: ignore[union-attr]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert dict(start["headers"])[b"content-type"].startswith(b"application/problem+json")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), reads


def post_head_only(
    base_url: str, path: str, *, announced: int, headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    """POST announcing ``announced`` bytes of body but sending only the first 64 KiB; the answer."""
    url = urlsplit(base_url)
    head = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", f"Content-Length: {announced}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"0" * min(announced, 65536))
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response, response.read()


def raw_get(base_url: str, target: bytes) -> tuple[http.client.HTTPResponse, bytes]:
    """``GET target`` with the target's bytes sent as they are (no percent-encoding); the answer."""
    url = urlsplit(base_url)
    head = [b"GET " + target + b" HTTP/1.1", b"Host: " + url.netloc.encode(), b"Connection: close"]
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response, response.read()

"""What ``hub serve`` adds to uvicorn: TCP_NODELAY on every connection, however the listener was made.

asyncio turns Nagle's algorithm off only for sockets that report ``proto == IPPROTO_TCP``. With
``--workers N`` uvicorn binds the listening socket itself with ``proto`` 0 (Kludex/uvicorn#3149,
uvicorn 0.54), so every accepted connection keeps Nagle on: uvicorn writes a response's head and
body separately, the body waits for the client's delayed ACK, and every keep-alive request after
the first took ~40 ms longer on Linux — ``/healthz`` included. The protocol below sets the option
itself on each connection (a no-op where asyncio already did).
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.auto import AutoHTTPProtocol


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on the transport's TCP socket (Unix sockets have none)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class HTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]  # uvicorn's own choice: h11 or httptools
    """uvicorn's HTTP/1.1 protocol, with TCP_NODELAY set when a connection is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        no_delay(transport)
        super().connection_made(transport)

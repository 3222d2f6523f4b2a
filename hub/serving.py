"""What ``hub serve`` adds to uvicorn's HTTP/1.1 protocol (h11): TCP_NODELAY on every connection,
and request targets in raw UTF-8.

TCP_NODELAY: asyncio turns Nagle's algorithm off only for sockets that report
``proto == IPPROTO_TCP``. With ``--workers N`` uvicorn binds the listening socket itself with
``proto`` 0 (Kludex/uvicorn#3149, uvicorn 0.54), so every accepted connection keeps Nagle on:
uvicorn writes a response's head and body separately, the body waits for the client's delayed ACK,
and every keep-alive request after the first took ~40 ms longer on Linux — ``/healthz`` included.
The protocol sets the option itself on each connection (a no-op where asyncio already did).

Raw UTF-8: browsers percent-encode a URL, but curl and many scripts send
``GET /api/v1/search?q=执照`` as it was typed. h11 (and httptools' llhttp alike) accept only
printable ASCII in the request target and answered ``Invalid HTTP request received.`` The
protocol percent-encodes every byte over 0x7F of a request line before h11 reads it, so such a
request is exactly the request a browser would have sent: Starlette decodes ``%E6%89%A7`` as
UTF-8 in the path and in the query, and bytes that are not UTF-8 become U+FFFD, never an error.
Only the request line is touched — never a header or a body. A request pipelined behind another
in the same packet reaches h11 as received (h11 holds it already): a raw UTF-8 target there is
still refused with a 400, as before.

The protocol is uvicorn's h11 one by name, not ``auto``: the same parser whatever else is
installed.
"""

from __future__ import annotations

import asyncio
import re
import socket

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

_NOT_ASCII = re.compile(rb"[\x80-\xff]")


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Turn Nagle's algorithm off on the transport's TCP socket (Unix sockets have none)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def percent_encode_request_line(data: bytes) -> bytes:
    """``data`` with the bytes over 0x7F of its first line percent-encoded; the rest untouched."""
    end = data.find(b"\n")
    end = len(data) if end < 0 else end
    return _NOT_ASCII.sub(lambda byte: b"%%%02X" % byte[0][0], data[:end]) + data[end:]


class HTTPProtocol(H11Protocol):
    """uvicorn's h11 protocol, with TCP_NODELAY set and raw UTF-8 request targets accepted."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # as uvicorn
        no_delay(transport)
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        # h11 is reading a request line when it is idle and holds no complete line yet (it holds
        # the start of the line when the line came in pieces: this piece continues it).
        if self.conn.their_state is h11.IDLE and b"\n" not in self.conn.trailing_data[0]:
            data = percent_encode_request_line(data)
        super().data_received(data)

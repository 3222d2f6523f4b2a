"""Drawing a QR text as a code: its version, and the code as SVG, PNG or rows of modules.

Encoded by zxing-cpp (C++; about a millisecond for a version-10 code where a pure-Python encoder
takes three or more, on every certificate rendered), error correction M.
"""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image

__all__ = ["qr_matrix", "qr_modules", "qr_png", "qr_svg", "qr_version"]

# The QR alphanumeric alphabet (ISO/IEC 18004 7.4.4): base45 text and its prefix fit in it.
_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]*")
_DARK_AS_ONE = bytes.maketrans(b"\x00\xff", b"\x01\x00")


def _qrcode(text: str) -> zxingcpp.Barcode:
    # Alphanumeric only: text outside the alphabet fails loudly rather than silently switching
    # to byte mode and growing the code.
    if not _ALPHANUMERIC.fullmatch(text):
        raise ValueError("the QR text must use the QR alphanumeric alphabet (base45 and its prefix)")
    return zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")


def qr_modules(text: str) -> tuple[bytes, ...]:
    """The code's rows of modules, one byte each (1 dark, 0 light), without quiet zone."""
    image = memoryview(_qrcode(text).to_image(scale=1, add_quiet_zones=False))  # type: ignore[arg-type]
    height, width = image.shape or (0, 0)
    pixels = image.tobytes()
    return tuple(pixels[r * width : (r + 1) * width].translate(_DARK_AS_ONE) for r in range(height))


def qr_version(text: str) -> int:
    """The QR version (1-40) ``text`` needs at error correction M in alphanumeric mode."""
    return (len(qr_modules(text)) - 17) // 4


def qr_svg(text: str, scale: int = 4) -> str:
    """The QR code as a standalone SVG element (quiet zone included), for inlining in a page."""
    svg: str = _qrcode(text).to_svg(scale=scale)
    return svg[svg.index("<svg") :]


def qr_png(text: str, scale: int = 4) -> bytes:
    """The QR code as a PNG image (quiet zone included)."""
    image = memoryview(_qrcode(text).to_image(scale=scale))  # type: ignore[arg-type]
    height, width = image.shape or (0, 0)
    out = io.BytesIO()
    Image.frombytes("L", (width, height), image.tobytes()).save(out, format="PNG")
    return out.getvalue()


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (True = dark), without quiet zone."""
    return tuple(tuple(m == 1 for m in row) for row in qr_modules(text))

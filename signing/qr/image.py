"""Drawing a QR text as a code: its version, and the code as SVG, PNG or a matrix of modules."""

from __future__ import annotations

import io

import segno

__all__ = ["qr_matrix", "qr_png", "qr_svg", "qr_version"]


def _qrcode(text: str) -> segno.QRCode:
    # Error correction M at least (segno may raise it for free within the same version);
    # alphanumeric mode fails loudly if the text is not base45 + prefix, rather than silently
    # falling back to byte mode and growing the code.
    return segno.make(text, error="m", mode="alphanumeric", micro=False)


def qr_version(text: str) -> int:
    """The QR version (1-40) ``text`` needs at error correction M in alphanumeric mode."""
    version = _qrcode(text).version
    if not isinstance(version, int):  # pragma: no cover - micro=False never gives "M1".."M4"
        raise TypeError(f"unexpected micro QR version {version!r}")
    return version


def qr_svg(text: str, scale: int = 4) -> str:
    """The QR code as a standalone SVG document (quiet zone of 4 modules included)."""
    out = io.BytesIO()
    _qrcode(text).save(out, kind="svg", scale=scale, xmldecl=False)
    return out.getvalue().decode("utf-8")


def qr_png(text: str, scale: int = 4) -> bytes:
    """The QR code as a PNG image."""
    out = io.BytesIO()
    _qrcode(text).save(out, kind="png", scale=scale)
    return out.getvalue()


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules (True = dark), without quiet zone, for drawing with reportlab or similar."""
    return tuple(tuple(bool(m) for m in row) for row in _qrcode(text).matrix)

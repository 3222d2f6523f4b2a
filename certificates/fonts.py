"""The face font: registered with reportlab once per process and embedded as a subset in each PDF.

Parsing a CJK TrueType collection takes far longer than rendering a certificate, so registration is
lazy, happens once per font file, and is guarded for threads.
"""

from __future__ import annotations

import hashlib
import os
import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# Debian's fonts-wqy-microhei (文泉驿微米黑): covers GB 18030 Hanzi and Latin in one face.
DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
DEFAULT_FONT_NAME = "WQY"
FONT_PATH_ENV = "HUB_FONT_PATH"

_lock = threading.Lock()
_registered: dict[str, str] = {}  # real path -> reportlab font name


def font_path(path: str | os.PathLike[str] | None = None) -> str:
    """The font file to use: the argument, else ``$HUB_FONT_PATH``, else WenQuanYi Micro Hei."""
    chosen = os.fspath(path) if path is not None else os.environ.get(FONT_PATH_ENV) or DEFAULT_FONT_PATH
    return os.path.realpath(chosen)


def face_font(path: str | os.PathLike[str] | None = None) -> str:
    """Register the font file (first call only) and return its reportlab font name."""
    real = font_path(path)
    name = _registered.get(real)
    if name is not None:
        return name
    with _lock:
        name = _registered.get(real)
        if name is not None:
            return name
        if not os.path.isfile(real):
            raise FileNotFoundError(f"face font not found: {real} (set {FONT_PATH_ENV})")
        if real == os.path.realpath(DEFAULT_FONT_PATH):
            name = DEFAULT_FONT_NAME
        else:
            name = "HubFace-" + hashlib.sha256(real.encode()).hexdigest()[:12]
        # Only the first face of a collection (.ttc) is used: the proportional Micro Hei.
        font = TTFont(name, real, subfontIndex=0) if real.lower().endswith(".ttc") else TTFont(name, real)
        pdfmetrics.registerFont(font)
        _registered[real] = name
        return name

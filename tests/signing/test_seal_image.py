"""The round seal image: drawn once, red on transparent, font configurable."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pytest
from PIL import Image

from signing.seal_image import SEAL_RED, seal_image


def test_png_is_square_red_on_transparent() -> None:
    image = seal_image("测试市公安局", size=200)
    png = Image.open(io.BytesIO(image.png))
    assert png.size == (200, 200) and png.mode == "RGBA"
    assert png.getpixel((0, 0))[3] == 0  # corner outside the ring is transparent
    opaque = [png.getpixel((x, y)) for x in range(0, 200, 3) for y in range(0, 200, 3)]
    opaque = [p for p in opaque if p[3] == 255]
    assert opaque and all(p[:3] == SEAL_RED for p in opaque)


def test_drawn_once_per_department() -> None:
    assert seal_image("测试市民政局") is seal_image("测试市民政局")
    assert seal_image("测试市民政局").png != seal_image("测试市教育局").png


def test_pdf_samples_match_the_png() -> None:
    image = seal_image("测试市公安局", size=120)
    alpha = zlib.decompress(image.alpha_flate)
    assert len(alpha) == 120 * 120
    assert alpha == Image.open(io.BytesIO(image.png)).getchannel("A").tobytes()
    assert zlib.decompress(image.rgb_flate) == bytes(SEAL_RED) * (120 * 120)


def test_font_path_is_configurable(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        seal_image("测试市公安局", font_path=tmp_path / "missing.ttf")

"""The department's seal (公章) image: drawn once per department, embedded cheaply in every seal.

A red round official-seal look: double ring, the department's name along the upper arc, a
five-pointed star in the middle, "电子证照专用章" below. Drawn with Pillow, then kept as
pre-compressed PDF image data so each signature only copies bytes into the output — no text, so
no font subsetting per signature (pyHanko's text stamps cost ~650 ms each for CJK fonts).
"""

from __future__ import annotations

import io
import math
import os
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import PdfContent, ResourceType
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.layout import BoxConstraints

__all__ = ["DEFAULT_FONT", "SealImage", "SealImageContent", "seal_image"]

DEFAULT_FONT = Path(os.environ.get("HUB_SEAL_FONT", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
SEAL_RED = (220, 30, 30)
SUBTITLE = "电子证照专用章"


@dataclass(frozen=True)
class SealImage:
    """A rendered seal: PNG for display, plus Flate-compressed samples ready for a PDF image XObject."""

    png: bytes
    width: int
    height: int
    rgb_flate: bytes
    alpha_flate: bytes


@lru_cache(maxsize=256)
def seal_image(
    org_name: str, *, subtitle: str = SUBTITLE, font_path: Path = DEFAULT_FONT, size: int = 360
) -> SealImage:
    """Draw (once per arguments; cached) the round seal for ``org_name``."""
    scale = 2  # draw at twice the size and downsample, for smooth edges
    px = size * scale
    img = Image.new("L", (px, px), 0)  # the alpha mask; the colour is uniformly red
    draw = ImageDraw.Draw(img)
    centre = px / 2
    outer = px / 2 - 4 * scale
    ring = max(3, px // 36)
    draw.ellipse((centre - outer, centre - outer, centre + outer, centre + outer), outline=255, width=ring)

    _star(draw, centre, centre, px * 0.15)

    font_size = int(px * 0.11) if len(org_name) <= 12 else int(px * 0.11 * 12 / len(org_name))
    name_font = ImageFont.truetype(str(font_path), font_size, index=0)
    _arc_text(img, org_name, name_font, centre, radius=outer - ring - font_size * 0.75)

    sub_font = ImageFont.truetype(str(font_path), int(px * 0.075), index=0)
    box = draw.textbbox((0, 0), subtitle, font=sub_font)
    w = box[2] - box[0]
    draw.text((centre - w / 2 - box[0], centre + px * 0.2), subtitle, font=sub_font, fill=255)

    alpha = img.resize((size, size), Image.Resampling.LANCZOS)
    rgba = Image.new("RGBA", (size, size), (*SEAL_RED, 0))
    rgba.putalpha(alpha)
    png = io.BytesIO()
    rgba.save(png, format="PNG", optimize=True)
    rgb = bytes(SEAL_RED) * (size * size)
    return SealImage(
        png=png.getvalue(),
        width=size,
        height=size,
        rgb_flate=zlib.compress(rgb, 9),
        alpha_flate=zlib.compress(alpha.tobytes(), 9),
    )


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.382
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    draw.polygon(points, fill=255)


def _arc_text(
    img: Image.Image, text: str, font: ImageFont.FreeTypeFont, centre: float, radius: float
) -> None:
    """Each character upright relative to the circle, spread over the upper ~240°."""
    span = math.radians(min(240.0, 22.0 * len(text) + 20))
    n = len(text)
    for i, char in enumerate(text):
        # angle measured from the top, clockwise; spread symmetrically
        theta = -span / 2 + span * (i + 0.5) / n if n else 0.0
        x = centre + radius * math.sin(theta)
        y = centre - radius * math.cos(theta)
        left, top, right, bottom = font.getbbox(char)
        cw, ch = right - left, bottom - top
        tile = Image.new("L", (int(cw * 1.6) + 4, int(ch * 1.6) + 4), 0)
        ImageDraw.Draw(tile).text(
            ((tile.width - cw) / 2 - left, (tile.height - ch) / 2 - top), char, font=font, fill=255
        )
        rotated = tile.rotate(-math.degrees(theta), resample=Image.Resampling.BICUBIC, expand=True)
        img.paste(255, (int(x - rotated.width / 2), int(y - rotated.height / 2)), rotated)


class SealImageContent(PdfContent):
    """pyHanko content drawing a ``SealImage``; writes the pre-compressed XObjects into each output.

    Make one per signature (pyHanko sets the writer on the content it renders).
    """

    def __init__(self, image: SealImage, width: float, height: float) -> None:
        super().__init__(box=BoxConstraints(width=width, height=height))
        self.image = image

    def render(self) -> bytes:
        writer = self._ensure_writer
        image = self.image
        common = {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): _number(image.width),
            pdf_name("/Height"): _number(image.height),
            pdf_name("/BitsPerComponent"): _number(8),
            pdf_name("/Filter"): pdf_name("/FlateDecode"),
        }
        smask = generic.StreamObject(
            {**common, pdf_name("/ColorSpace"): pdf_name("/DeviceGray")}, encoded_data=image.alpha_flate
        )
        rgb = generic.StreamObject(
            {
                **common,
                pdf_name("/ColorSpace"): pdf_name("/DeviceRGB"),
                pdf_name("/SMask"): writer.add_object(smask),
            },
            encoded_data=image.rgb_flate,
        )
        self.set_resource(ResourceType.XOBJECT, pdf_name("/Seal"), writer.add_object(rgb))
        return b"q %g 0 0 %g 0 0 cm /Seal Do Q" % (self.box.width, self.box.height)


def _number(value: int) -> generic.NumberObject:
    return generic.NumberObject(value)  # type: ignore[no-untyped-call]

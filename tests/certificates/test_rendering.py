from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from certificates import fonts
from certificates.rendering import QR_BOX, SEAL_BOX, CertificateFace, render, wrap
from kernel.errors import ValidationFailed
from signing.qr.image import qr_modules

IDENTIFIER = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
QR_TEXT = "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO6+IDOEZIA-6IMXFQB6L1HB0R:4SHE3*4B3Z5DSB+4E"

FACE = CertificateFace(
    type_name="中华人民共和国残疾人证",
    title="残疾人证",
    fields=[("残疾类别", "肢体残疾"), ("残疾等级", "二级"), ("住址", "上海市浦东新区世纪大道100号")],
    holder_name="张三",
    holder_code_masked="3101**********123X",
    issuer_name="上海市浦东新区残疾人联合会",
    issued_on=date(2025, 11, 25),
    valid_from=date(2025, 11, 25),
    valid_until=date(2030, 11, 24),
    identifier=IDENTIFIER,
    verification_code="7K3QX9",
    qr_text=QR_TEXT,
)
DPI = 144


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def rasterize(pdf: bytes, tmp_path: Path) -> Image.Image:
    source = tmp_path / "face.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", str(source), str(tmp_path / "face")], check=True
    )
    return Image.open(tmp_path / "face.png").convert("L")


def to_pixels(x: float, y: float, image: Image.Image) -> tuple[int, int]:
    """PDF points (origin bottom left) to pixel coordinates (origin top left)."""
    return round(x * DPI / 72), image.height - round(y * DPI / 72)


def squashed(text: str) -> str:
    return "".join(text.split())


def test_renders_one_a4_page() -> None:
    reader = PdfReader(io.BytesIO(render(FACE).pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_pdftotext_gives_the_chinese_face_back() -> None:
    text = squashed(pdftotext(render(FACE).pdf))
    for expected in [
        "残疾人证",
        "中华人民共和国残疾人证",
        "持证主体",
        "张三",
        "3101**********123X",
        "残疾类别",
        "肢体残疾",
        "上海市浦东新区世纪大道100号",
        "上海市浦东新区残疾人联合会",
        "2025年11月25日至2030年11月24日",
        "发证日期：2025年11月25日",
        "核验码：7K3QX9",
        IDENTIFIER,
    ]:
        assert squashed(expected) in text


def test_font_is_embedded_as_a_subset_and_no_other_font_is_used() -> None:
    reader = PdfReader(io.BytesIO(render(FACE).pdf))
    resources = reader.pages[0]["/Resources"]["/Font"]
    fonts_used = [resources[key].get_object() for key in resources]
    assert len(fonts_used) == 1
    font = fonts_used[0]
    tag, _, name = str(font["/BaseFont"]).lstrip("/").partition("+")
    assert len(tag) == 6  # a subset
    assert tag.isupper()
    assert name.startswith("WenQuanYi")
    assert "/FontFile2" in font["/FontDescriptor"]
    assert "/ToUnicode" in font


def test_same_face_renders_to_the_same_bytes() -> None:
    assert render(FACE).pdf == render(FACE).pdf


def test_rendering_is_the_same_in_a_fresh_process() -> None:
    script = (
        "import sys; from tests.certificates.test_rendering import FACE; "
        "from certificates.rendering import render; sys.stdout.buffer.write(render(FACE).pdf)"
    )
    root = Path(__file__).resolve().parents[2]
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, cwd=root).stdout
    assert other == render(FACE).pdf


def test_different_faces_render_differently() -> None:
    assert render(FACE).pdf != render(dataclasses.replace(FACE, verification_code="7K3QX8")).pdf


def test_document_dates_are_the_issue_date() -> None:
    info = PdfReader(io.BytesIO(render(FACE).pdf)).metadata
    assert info is not None
    assert str(info["/CreationDate"]).startswith("D:20251125")


def test_concurrent_renders_agree() -> None:
    expected = render(FACE).pdf
    # Threads, as uvicorn's pool runs issuance: reportlab's font subsetting once broke under this.
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: render(FACE).pdf, range(64)))
    assert all(result == expected for result in results)


def test_seal_box_is_left_empty(tmp_path: Path) -> None:
    rendered = render(FACE)
    assert rendered.page == 0
    assert rendered.seal_box == SEAL_BOX
    image = rasterize(rendered.pdf, tmp_path)
    left, top = to_pixels(SEAL_BOX[0], SEAL_BOX[3], image)
    right, bottom = to_pixels(SEAL_BOX[2], SEAL_BOX[1], image)
    region = image.crop((left, top, right, bottom))
    assert region.width > 200
    assert region.height > 200
    assert region.getextrema() == (255, 255)


def test_qr_code_is_drawn_module_for_module_in_its_box(tmp_path: Path) -> None:
    rendered = render(FACE)
    image = rasterize(rendered.pdf, tmp_path)
    matrix = qr_modules(QR_TEXT)
    x1, y1, x2, y2 = rendered.qr_box
    unit = (x2 - x1) / (len(matrix) + 8)
    for row, cells in enumerate(matrix):
        for column, dark in enumerate(cells):
            centre = (x1 + (column + 4.5) * unit, y2 - (row + 4.5) * unit)
            pixel = image.getpixel(to_pixels(*centre, image))
            assert (pixel < 128) == bool(dark), (row, column)
    # The quiet zone around the symbol stays light, and an independent reader decodes the page's code.
    assert image.getpixel(to_pixels(x1 + unit, y2 - unit, image)) == 255
    assert rendered.qr_box == QR_BOX
    left, top = to_pixels(x1, y2, image)
    right, bottom = to_pixels(x2, y1, image)
    decoded = zxingcpp.read_barcode(image.crop((left, top, right, bottom)))
    assert decoded is not None and decoded.text == QR_TEXT


def test_long_values_wrap_and_stay_whole() -> None:
    address = "上海市浦东新区世纪大道一百号环球金融中心大厦八十八层" * 3
    text = squashed(pdftotext(render(dataclasses.replace(FACE, fields=[("住址", address)])).pdf))
    assert address in text


def test_latin_words_are_not_broken_when_wrapping() -> None:
    remark = "Lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt"
    text = pdftotext(render(dataclasses.replace(FACE, fields=[("备注", remark)])).pdf)
    words = set(text.split())
    assert {"consectetur", "adipiscing", "eiusmod", "incididunt"} <= words


def test_closing_punctuation_never_starts_a_line() -> None:
    font = fonts.face_font()
    text = "一二三四五六七八九，十一二三四五六七八九。"
    for width in range(40, 200, 3):
        lines = wrap(text, font, 12, width)
        assert "".join(lines) == text
        assert not any(line[0] in "，。" for line in lines), lines


def test_a_face_too_long_for_one_page_is_refused() -> None:
    many = [(f"字段{i}", "很长的内容" * 10) for i in range(40)]
    with pytest.raises(ValidationFailed) as caught:
        render(dataclasses.replace(FACE, fields=many))
    assert caught.value.code == "face_too_long"


def test_a_character_the_font_lacks_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        render(dataclasses.replace(FACE, holder_name="张\U00020000"))
    assert caught.value.field == "holder.name"
    assert caught.value.code == "unsupported_character"
    assert "\U00020000" not in caught.value.detail  # detail names the code point, not the name


def test_open_ended_validity_reads_long_term() -> None:
    text = squashed(pdftotext(render(dataclasses.replace(FACE, valid_until=None)).pdf))
    assert "2025年11月25日至长期" in text


def test_font_is_registered_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    render(FACE)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("font parsed again")

    monkeypatch.setattr(fonts, "TTFont", refuse)
    render(FACE)


def test_font_path_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(fonts.FONT_PATH_ENV, str(tmp_path / "missing.ttf"))
    with pytest.raises(FileNotFoundError):
        render(FACE)


def test_another_font_can_be_chosen_and_its_gaps_are_caught() -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not dejavu.exists():
        pytest.fail("DejaVu Sans is missing: ./run tests installs fonts-dejavu-core")
    latin = dataclasses.replace(
        FACE, title="Certificate", type_name="Test", fields=[], holder_name="Zhang San", issuer_name="Issuer"
    )
    with pytest.raises(ValidationFailed):
        render(FACE, font_path=dejavu)
    rendered = render(latin, font_path=dejavu)
    font = PdfReader(io.BytesIO(rendered.pdf)).pages[0]["/Resources"]["/Font"]
    assert any("DejaVu" in str(font[key].get_object()["/BaseFont"]) for key in font)

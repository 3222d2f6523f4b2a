"""How long rendering one certificate takes: ``python -m bench.rendering [N]``.

Font registration (parsing the TrueType collection) happens once per process and is reported
separately; the per-document figure is what an issuance pays.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from datetime import date

from certificates.fonts import face_font
from certificates.rendering import CertificateFace, render

# About the size of a signed offline payload (CBOR, COSE_Sign1, zlib, base45).
QR_TEXT = "HC1:" + "6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KECTHGWJC0" * 4

FACE = CertificateFace(
    type_name="中华人民共和国残疾人证",
    title="残疾人证",
    fields=[
        ("残疾类别", "肢体残疾"),
        ("残疾等级", "二级"),
        ("监护人", "李四"),
        ("住址", "上海市浦东新区世纪大道100号环球金融中心大厦88层8801室"),
        ("备注", "本证在全国范围内有效，持证人凭此证享受国家和地方规定的扶残助残优惠政策。"),
    ],
    holder_name="张三",
    holder_code_masked="3101**********123X",
    issuer_name="上海市浦东新区残疾人联合会",
    issued_on=date(2025, 11, 25),
    valid_from=date(2025, 11, 25),
    valid_until=date(2030, 11, 24),
    identifier="1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    verification_code="7K3QX9",
    qr_text=QR_TEXT,
)


def main(count: int = 200) -> None:
    started = time.perf_counter()
    face_font()
    print(f"font registration (once per process): {(time.perf_counter() - started) * 1000:.1f} ms")
    render(FACE)  # warm up
    timings = []
    size = 0
    cpu_started = time.process_time()
    for index in range(count):
        face = dataclasses.replace(FACE, verification_code=f"{index:06d}")
        started = time.perf_counter()
        size = len(render(face).pdf)
        timings.append((time.perf_counter() - started) * 1000)
    cpu = (time.process_time() - cpu_started) * 1000 / count
    timings.sort()
    print(
        f"{count} renders: mean {statistics.fmean(timings):.2f} ms/doc, "
        f"median {statistics.median(timings):.2f}, p95 {timings[int(count * 0.95) - 1]:.2f}, "
        f"CPU {cpu:.2f} ms/doc (wall time suffers on a busy machine), {size / 1024:.0f} KiB each"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)

"""The asn1crypto stall at B-T, unpatched against patched, in one run (signing/asn1_fix.py).

    .venv/bin/python bench/asn1_stall.py [NAMES] [PER_NAME]     (default 40 names x 10 seals)

Seals one-page PDFs at B-T (in-process timestamp authority) with NAMES department seals whose names
differ in length, so the CMS sizes sweep past the lengths whose DER ends in 0x80; PER_NAME seals each.
The same seals run first with asn1crypto's own ``dump`` methods, then with the fix; it prints the
median, p99, max, the count over one second and the throughput of each pass.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from asn1crypto import core

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PATCHED_CLASSES = (core.Asn1Value, core.Choice, core.Primitive, core.Sequence, core.SequenceOf)
ORIGINAL: dict[type[Any], Any] = {cls: cls.__dict__["dump"] for cls in PATCHED_CLASSES}
MASTER_KEY = b"bench master key, 32 bytes long!"


def main() -> None:
    import signing.asn1_fix as fix  # applies the fix: keep both versions at hand
    from bench.sealing import render
    from signing.filekeys import FileKeyStore
    from signing.pades import Sealer, SealIdentity
    from signing.pki.authority import HubPKI
    from signing.tsa import LocalTimeStamper, TimestampAuthority

    patched = {cls: cls.__dict__["dump"] for cls in ORIGINAL}
    names = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    per_name = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    work = Path(tempfile.mkdtemp(prefix="bench-asn1-"))
    pki = HubPKI.open_or_create(work / "pki", MASTER_KEY, org_name="测试市大数据局", base_url="http://127.0.0.1")
    keystore = FileKeyStore(work / "keys", MASTER_KEY)
    authority = TimestampAuthority(pki.tsa_cert, pki.tsa_key, pki.chain)
    sealer = Sealer(pki, keystore, timestamper=LocalTimeStamper(authority), level="B-T")
    seals = []
    for i in range(names):
        name = "测试市" + "甲" * i + "局"
        uscc = "11330100MB0000001X"
        cert = pki.issue_seal_certificate(keystore.ensure_key(f"dept-{i}"), name, uscc)
        seals.append(SealIdentity(f"dept-{i}", cert, name, uscc))
    print(f"B-T seals: {names} department names x {per_name} documents, one process (fix: {fix.PATCHED})")
    for label, methods in (("asn1crypto 1.5.1 as released", ORIGINAL), ("with signing/asn1_fix.py", patched)):
        for cls, dump in methods.items():
            cls.dump = dump
        sealer.seal(render(0), seals[0])  # warm-up
        times = []
        started = time.perf_counter()
        for i, seal in enumerate(seals):
            for j in range(per_name):
                t = time.perf_counter()
                sealer.seal(render(i * per_name + j), seal)
                times.append((time.perf_counter() - t) * 1000)
        wall = time.perf_counter() - started
        times.sort()
        slow = sum(1 for t in times if t > 1000)
        print(
            f"  {label:<30} median {statistics.median(times):7.1f} ms"
            f"  p99 {times[int(len(times) * 0.99)]:8.1f} ms  max {times[-1]:8.1f} ms"
            f"  over 1 s: {slow:3d}  throughput {len(times) / wall:5.1f}/s"
        )


if __name__ == "__main__":
    main()

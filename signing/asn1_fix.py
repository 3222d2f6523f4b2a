"""A fix for asn1crypto 1.5.1's indefinite-length test, applied when ``signing`` is imported.

asn1crypto decides that a parsed value had an indefinite length (BER ``0x80``) by the last byte of
its header alone, so a definite long-form length whose last byte happens to be ``0x80`` (e.g.
``30 82 0F 80``: 3,968 bytes) is forcibly re-encoded on every ``dump()``. Inside a CMS that
re-encoding fills omitted DEFAULT fields (an ESSCertIDv2's DigestAlgorithm) with values flagged
mutated that are never cleared, so every ancestor re-serialises on every read: seconds per B-T
seal for data whose CMS happens to hit such a length (upstream wbond/asn1crypto#249, open; its fix,
PR #302, closed unmerged). An indefinite length is the one whose value also ends with the
end-of-contents trailer ``00 00`` — the test this module adds to the five ``dump`` methods.

Why a patch at import rather than a patched build: asn1crypto is pure Python and pyHanko pins
it loosely; the patch rewrites exactly the five conditions (checked by count, so an asn1crypto
that changed them is left alone and the regression test says so) and needs no private index.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

from asn1crypto import core

BUGGY = "self._header is not None and self._header[-1:] == b'\\x80'"
FIXED = BUGGY + " and self._trailer == b'\\x00\\x00'"
CLASSES: tuple[type[Any], ...] = (core.Asn1Value, core.Choice, core.Primitive, core.Sequence, core.SequenceOf)
PATCHED_FLAG = "_hub_indefinite_length_fix"


def apply() -> bool:
    """Patch the five ``dump`` methods once; True when asn1crypto is (now) patched."""
    if getattr(core, PATCHED_FLAG, False):
        return True
    sources = {cls: textwrap.dedent(inspect.getsource(cls.__dict__["dump"])) for cls in CLASSES}
    if any(src.count(BUGGY) != 1 for src in sources.values()):
        return False  # not the code this fix was written for: leave it as it is
    for cls, src in sources.items():
        namespace: dict[str, Any] = {}
        code = compile(src.replace(BUGGY, FIXED), f"<asn1crypto.core.{cls.__name__}.dump, patched>", "exec")
        exec(code, vars(core), namespace)  # noqa: S102 (asn1crypto's own source, one condition changed)
        cls.dump = namespace["dump"]
    setattr(core, PATCHED_FLAG, True)
    return True


PATCHED = apply()

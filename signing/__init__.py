"""Signing (电子印章): keys, seals, PAdES, timestamps, OCSP/CRL, validation reports, QR payloads.

A library: it imports nothing of ours and knows no database and no HTTP. Importing it fixes
asn1crypto's indefinite-length test first (``signing.asn1_fix``), gives pyHanko a hex-string
reader that does not go byte by byte (``signing.pdf_hexstring_fix``) and an object-stream reader
that parses a stream's header once, not once per object (``signing.pdf_objstm_fix``).
"""

from signing import asn1_fix as _asn1_fix  # noqa: F401 (applied at import, before any CMS is built)
from signing import pdf_hexstring_fix as _pdf_hexstring_fix  # noqa: F401 (applied at import)
from signing import pdf_objstm_fix as _pdf_objstm_fix  # noqa: F401 (applied at import)

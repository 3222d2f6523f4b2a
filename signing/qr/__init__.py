"""Offline-verifiable QR payloads, in the manner of the EU Digital COVID Certificate.

A certificate's QR code carries its key facts signed by the hub, so a verifier with a copy of the
hub's trust list (``GET /api/v1/trust``, :mod:`signing.trust`) can check a printed or on-screen
certificate with no network at all::

    "EC1:" + base45( zlib( COSE_Sign1( CBOR claims ) ) )

* claims (:mod:`signing.qr.claims`): a CBOR map with small integer keys (see ``ClaimKey``),
  deterministic encoding;
* COSE_Sign1 (RFC 9052, :mod:`signing.qr.cose`), tag 18: ``[protected, unprotected, payload,
  signature]`` with protected = bstr(CBOR ``{1: -7 (ES256), 4: kid}``), unprotected = ``{}``,
  signature = r || s (64 bytes), ECDSA P-256 / SHA-256 over ``["Signature1", protected, b"", payload]``;
* zlib, then base45 (RFC 9285), whose alphabet is QR's alphanumeric set, so it packs at 5.5 bits
  a character; then our prefix ``EC1:`` ("electronic certificate, format 1").

``kid`` identifies the signing key: the first 8 bytes of SHA-256 over its SubjectPublicKeyInfo
DER. The trust list writes it base64url without padding; inside COSE it is the raw 8 bytes.

Verification outcomes are data (``QRVerification``), never exceptions: ``decode_and_verify``
(:mod:`signing.qr.verify`) turns any input, however broken, into a verdict with plain-language
problems. The image of the code is drawn by :mod:`signing.qr.image`. See docs/qr.md.
"""

"""Checking a published checkpoint without the hub's database: what ``hub audit verify --url`` does,
and what an outside verifier re-implements from ``docs/audit.md``.

Given the hub's audit public keys (the trust list's ``audit_keys``), a checkpoint document
(``GET /api/v1/audit/checkpoint``) and, optionally, the checkpoint kept from a previous visit with
the consistency proof between the two: the note must be the one its fields describe, its signature
must verify under the named key, its timestamp token must be over the note, and the old tree must
be a prefix of the new one.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from asn1crypto import cms, tsp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from audit.checkpoints import note
from audit.merkle import verify_consistency, verify_inclusion

__all__ = ["check_checkpoint", "check_extends", "check_included"]


def check_checkpoint(
    document: Mapping[str, Any], origin: str, keys: Mapping[str, ec.EllipticCurvePublicKey]
) -> str | None:
    """None if ``document`` is a checkpoint the hub at ``origin`` signed; else what is wrong."""
    try:
        size, root, key_id = int(document["size"]), str(document["root"]), str(document["key_id"])
        signed_at = datetime.fromisoformat(str(document["signed_at"]).replace("Z", "+00:00"))
        signature = base64.b64decode(document["signature"], validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        return f"the checkpoint is malformed: {exc}"
    text = note(origin, size, root, signed_at)
    if document.get("note") not in (None, text.decode()):
        return "the checkpoint's note does not match its fields"
    key = keys.get(key_id)
    if key is None:
        return f"the checkpoint is signed with key {key_id!r}, which the trust list does not hold"
    try:
        key.verify(signature, text, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "the checkpoint's signature does not verify"
    token = document.get("timestamp")
    if token:
        try:
            info = cms.ContentInfo.load(base64.b64decode(token))["content"]["encap_content_info"]
            tst_info = tsp.TSTInfo.load(bytes(info["content"].contents))
            imprint = tst_info["message_imprint"]["hashed_message"].native
        except Exception as exc:  # asn1crypto raises many kinds for garbage
            return f"the checkpoint's timestamp token is unreadable: {exc}"
        if imprint != hashlib.sha256(text).digest():
            return "the checkpoint's timestamp token is over another text"
    return None


def check_extends(old: Mapping[str, Any], new: Mapping[str, Any], proof: Sequence[str]) -> str | None:
    """None if the tree of checkpoint ``old`` is a prefix of that of ``new`` by ``proof`` (hex)."""
    first, second = int(old["size"]), int(new["size"])
    if second < first:
        return f"the log shrank from {first} to {second} entries"
    hashes = [bytes.fromhex(h) for h in proof]
    if not verify_consistency(first, second, bytes.fromhex(old["root"]), bytes.fromhex(new["root"]), hashes):
        return (
            f"the checkpoint of size {second} does not extend the one of size {first}: history was rewritten"
        )
    return None


def check_included(leaf: str, seq: int, checkpoint: Mapping[str, Any], proof: Sequence[str]) -> str | None:
    """None if entry ``seq`` with leaf hash ``leaf`` is in the checkpoint's tree by ``proof``."""
    ok = verify_inclusion(
        bytes.fromhex(leaf),
        seq - 1,
        int(checkpoint["size"]),
        [bytes.fromhex(h) for h in proof],
        bytes.fromhex(checkpoint["root"]),
    )
    return None if ok else f"entry {seq} is not in the checkpoint of size {checkpoint['size']}"

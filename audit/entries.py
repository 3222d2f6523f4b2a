"""The canonical bytes of an audit entry: what its Merkle leaf hashes (format ``hub-audit-v1``).

An entry is the JSON object of its fields with keys sorted, no whitespace, UTF-8, times in UTC to
the microsecond (``2026-12-01T23:59:07.120000Z``), absent values as ``null``:

    {"action":…,"actor":…,"at":…,"certificate":…,"details":{…},"item":…,"org":…,
     "outcome":…,"seq":…,"subject":…,"use_cause":…,"v":1}

Its leaf is ``SHA-256(0x00 || bytes)`` (RFC 9162). The sequence number is inside, so an entry moved
to another place no longer hashes to the leaf there. Anyone holding the rows can recompute it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

__all__ = ["entry_bytes", "timestamp"]


def timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_bytes(
    *,
    seq: int,
    at: datetime,
    action: str,
    actor: str,
    org_code: str | None,
    subject: str | None,
    certificate_id: str | None,
    item_code: str | None,
    use_cause: str | None,
    outcome: str,
    details: dict[str, Any],
) -> bytes:
    entry = {
        "v": 1,
        "seq": seq,
        "at": timestamp(at),
        "action": action,
        "actor": actor,
        "org": org_code,
        "subject": subject,
        "certificate": certificate_id,
        "item": item_code,
        "use_cause": use_cause,
        "outcome": outcome,
        "details": details,
    }
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

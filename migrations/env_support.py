"""What autogenerate and the drift check leave alone: full-text structures owned by search backends."""

from __future__ import annotations

from typing import Any

UNMODELLED_PREFIXES = ("search_fts", "ix_search_documents_tsv")


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return not (name and name.startswith(UNMODELLED_PREFIXES))

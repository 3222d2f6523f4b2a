"""Full-text search over the catalog, behind a small :class:`SearchIndex` protocol.

Chinese has no spaces, so the text is cut into *grams* before it reaches any full-text engine:
lowercase words for everything else, and every CJK character (unigram) plus every pair of
adjacent CJK characters (bigram). A one-character query then looks for the unigram, a longer
one for its bigrams, all ANDed: ``营业执照`` finds documents holding 营业, 业执 and 执照.

Backends:

* :class:`EmbeddedSearchIndex` — the ``search_documents`` table of the database itself: SQLite
  FTS5 (``search_fts``, kept in step by triggers) or a PostgreSQL GIN index over
  ``to_tsvector('simple', name_grams || ' ' || body_grams)``. It works inside the caller's session,
  so a catalog write and its search document commit or roll back together.
* :class:`catalog.search_es.ElasticsearchSearchIndex` — an external index, fed after commit
  (see :func:`follow_commits`).

User input never reaches a query language: it is reduced to grams (letters, digits, CJK
characters only), and each gram is quoted for the engine.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

from sqlalchemy import ColumnElement, delete, func, literal_column, select, text
from sqlalchemy.orm import Session

from catalog.models import SearchDocument

__all__ = [
    "KINDS",
    "EmbeddedSearchIndex",
    "Kind",
    "SearchDoc",
    "SearchHit",
    "SearchIndex",
    "SearchResult",
    "follow_commits",
    "grams",
    "query_grams",
    "record_change",
]

log = logging.getLogger("catalog.search")

Kind = Literal["certificate-type", "data-resource", "item", "one-thing"]
KINDS: tuple[str, ...] = get_args(Kind)

MAX_QUERY_GRAMS = 32

# CJK ideographs (with extensions and compatibility forms), kana and hangul: scripts written
# without spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+")
_CJK_RUN = re.compile(rf"[{_CJK}]+")


@dataclass(frozen=True)
class SearchDoc:
    """What is indexed for one catalog entry: its name, and the rest of its text as ``body``."""

    kind: str
    code: str
    name: str
    body: str


@dataclass(frozen=True)
class SearchHit:
    kind: str
    code: str
    name: str


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: tuple[SearchHit, ...]


class SearchIndex(Protocol):
    """A full-text index of catalog entries, keyed by (kind, code)."""

    def index(self, docs: Iterable[SearchDoc]) -> None:
        """Add or replace these documents."""
        ...

    def remove(self, kind: str, code: str) -> None:
        """Drop one document (no error when absent)."""
        ...

    def search(self, q: str, *, kind: str | None = None, limit: int = 20, offset: int = 0) -> SearchResult:
        """Entries holding every gram of ``q``; name matches first, then body matches."""
        ...

    def rebuild(self, docs: Iterable[SearchDoc]) -> None:
        """Replace the whole index by these documents."""
        ...

    def ping(self) -> None:
        """Raise when the backend cannot be reached."""
        ...


# --------------------------------------------------------------------------------------------
# Grams
# --------------------------------------------------------------------------------------------


def _tokens(text: str, *, unigrams: bool) -> list[str]:
    out: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        if _CJK_RUN.fullmatch(token) is None:
            out.append(token)
            continue
        if len(token) == 1:
            out.append(token)
            continue
        if unigrams:
            out.extend(token)
        out.extend(token[i : i + 2] for i in range(len(token) - 1))
    return out


def grams(text: str) -> str:
    """The text as indexed: lowercase words, CJK unigrams and bigrams, space-separated."""
    return " ".join(_tokens(text, unigrams=True))


def query_grams(q: str) -> list[str]:
    """The grams a query must all match: words, and CJK bigrams (a lone character as itself)."""
    return list(dict.fromkeys(_tokens(q, unigrams=False)))[:MAX_QUERY_GRAMS]


# --------------------------------------------------------------------------------------------
# Keeping an external index in step: changes recorded in the session, applied after commit
# --------------------------------------------------------------------------------------------

_PENDING = "catalog.search.pending"
_FOLLOWED = "catalog.search.followed"


@dataclass(frozen=True)
class _Removal:
    kind: str
    code: str


def record_change(session: Session, change: SearchDoc | tuple[str, str]) -> None:
    """Note a document to (re)index, or a ``(kind, code)`` to remove, once the session commits."""
    item = change if isinstance(change, SearchDoc) else _Removal(*change)
    session.info.setdefault(_PENDING, []).append(item)


def follow_commits(session: Session, index: SearchIndex) -> None:
    """Apply the changes recorded in ``session`` to ``index`` after each commit; drop them on rollback.

    For an index outside the database (Elasticsearch): it must not see what may still roll back.
    A failure after commit is logged, not raised — the catalog is already stored, and
    ``hub search reindex`` repairs the index.
    """
    from sqlalchemy import event

    if session.info.get(_FOLLOWED):
        return
    session.info[_FOLLOWED] = True

    def after_commit(s: Session) -> None:
        pending: list[SearchDoc | _Removal] = s.info.pop(_PENDING, [])
        if not pending:
            return
        try:
            docs = [p for p in pending if isinstance(p, SearchDoc)]
            if docs:
                index.index(docs)
            for p in pending:
                if isinstance(p, _Removal):
                    index.remove(p.kind, p.code)
        except Exception as exc:
            log.warning(
                "search index not updated after commit (%s); run `hub search reindex`",
                type(exc).__name__,
            )

    def after_rollback(s: Session) -> None:
        s.info.pop(_PENDING, None)

    event.listen(session, "after_commit", after_commit)
    event.listen(session, "after_soft_rollback", lambda s, _prev: after_rollback(s))


# --------------------------------------------------------------------------------------------
# Embedded: the search_documents table
# --------------------------------------------------------------------------------------------


def _fts5_query(tokens: Sequence[str], column: str | None = None) -> str:
    # Each gram as an FTS5 string ("..." with " doubled), so no operator can be smuggled in.
    quoted = " AND ".join('"' + t.replace('"', '""') + '"' for t in tokens)
    return f"{{{column}}} : ({quoted})" if column else quoted


def _tsquery(tokens: Sequence[str]) -> str:
    # Each gram as a quoted tsquery lexeme (' doubled, \ escaped), ANDed.
    return " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in tokens)


class EmbeddedSearchIndex:
    """The catalog's search in its own database, inside the caller's session (no commit here)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def index(self, docs: Iterable[SearchDoc]) -> None:
        for doc in docs:
            name_grams, body_grams = grams(doc.name), grams(doc.body)
            row = self.session.get(SearchDocument, (doc.kind, doc.code))
            if row is None:
                self.session.add(
                    SearchDocument(
                        kind=doc.kind,
                        code=doc.code,
                        name=doc.name,
                        name_grams=name_grams,
                        body_grams=body_grams,
                        version=1,
                    )
                )
            elif (row.name, row.name_grams, row.body_grams) != (doc.name, name_grams, body_grams):
                row.name, row.name_grams, row.body_grams = doc.name, name_grams, body_grams
                row.version += 1
        self.session.flush()

    def remove(self, kind: str, code: str) -> None:
        self.session.execute(
            delete(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.code == code)
        )

    def rebuild(self, docs: Iterable[SearchDoc]) -> None:
        self.session.execute(delete(SearchDocument))
        self.session.flush()
        self.index(docs)
        if self._dialect == "sqlite":
            # Rebuild the FTS5 table from its content table too, in case triggers were ever bypassed.
            self.session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))

    def ping(self) -> None:
        self.session.execute(select(1))

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def search(self, q: str, *, kind: str | None = None, limit: int = 20, offset: int = 0) -> SearchResult:
        tokens = query_grams(q)
        if not tokens or limit <= 0:
            return SearchResult(total=0, hits=())
        if self._dialect == "sqlite":
            return self._search_sqlite(tokens, kind, limit, offset)
        return self._search_postgresql(tokens, kind, limit, offset)

    def _search_sqlite(self, tokens: list[str], kind: str | None, limit: int, offset: int) -> SearchResult:
        where = "search_fts MATCH :q" + (" AND d.kind = :kind" if kind else "")
        params: dict[str, object] = {"q": _fts5_query(tokens), "kind": kind}
        base = f"FROM search_fts JOIN search_documents AS d ON d.rowid = search_fts.rowid WHERE {where}"
        total = self.session.execute(text(f"SELECT count(*) {base}"), params).scalar_one()
        # Whole query in the name first; then BM25 with the name weighted 10x the body.
        rows = self.session.execute(
            text(
                f"SELECT d.kind, d.code, d.name {base} "  # noqa: S608 - only fixed SQL is interpolated
                "ORDER BY CASE WHEN d.rowid IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :qn) "
                "THEN 0 ELSE 1 END, bm25(search_fts, 10.0, 1.0), d.name, d.kind, d.code "
                "LIMIT :limit OFFSET :offset"
            ),
            {**params, "qn": _fts5_query(tokens, "name_grams"), "limit": limit, "offset": offset},
        ).all()
        return SearchResult(total=total, hits=tuple(SearchHit(*row) for row in rows))

    def _search_postgresql(
        self, tokens: list[str], kind: str | None, limit: int, offset: int
    ) -> SearchResult:
        d = SearchDocument
        query = func.to_tsquery(literal_column("'simple'"), _tsquery(tokens))
        # The same expression as the GIN index ix_search_documents_tsv, so the index is used.
        document = func.to_tsvector(
            literal_column("'simple'"), d.name_grams.concat(literal_column("' '")).concat(d.body_grams)
        )
        name_vector = func.to_tsvector(literal_column("'simple'"), d.name_grams)
        conditions: list[ColumnElement[bool]] = [document.op("@@")(query)]
        if kind:
            conditions.append(d.kind == kind)
        total = self.session.execute(select(func.count()).select_from(d).where(*conditions)).scalar_one()
        weighted = func.setweight(name_vector, literal_column("'A'")).op("||")(
            func.setweight(func.to_tsvector(literal_column("'simple'"), d.body_grams), literal_column("'D'"))
        )
        rows = self.session.execute(
            select(d.kind, d.code, d.name)
            .where(*conditions)
            .order_by(
                name_vector.op("@@")(query).desc(),
                func.ts_rank(weighted, query).desc(),
                d.name,
                d.kind,
                d.code,
            )
            .limit(limit)
            .offset(offset)
        ).all()
        return SearchResult(total=total, hits=tuple(SearchHit(*row) for row in rows))

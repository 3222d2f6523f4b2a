"""The catalog's search on Elasticsearch, through the official ``elasticsearch`` client.

Chinese is handled by Elasticsearch's built-in CJK support: the standard tokenizer cuts CJK text
into single characters, ``cjk_width`` folds full-width forms, and ``cjk_bigram`` joins adjacent
characters. Documents are indexed with unigrams *and* bigrams; queries use bigrams only (a lone
character stays a unigram) — the same rule as :func:`catalog.search.grams`, so a one-character
query finds every entry holding that character, and a longer one needs all its bigrams.

Queries go through ``multi_match`` (never ``query_string``), so user input has no syntax.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from catalog.search import SearchDoc, SearchHit, SearchResult
from kernel.errors import Unavailable

__all__ = ["ElasticsearchSearchIndex"]

SETTINGS: dict[str, Any] = {
    "analysis": {
        "filter": {
            "hub_bigrams_and_unigrams": {"type": "cjk_bigram", "output_unigrams": True},
            "hub_bigrams": {"type": "cjk_bigram", "output_unigrams": False},
        },
        "analyzer": {
            "hub_cjk_index": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "hub_bigrams_and_unigrams"],
            },
            "hub_cjk_search": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": ["cjk_width", "lowercase", "hub_bigrams"],
            },
        },
    }
}

_TEXT = {"type": "text", "analyzer": "hub_cjk_index", "search_analyzer": "hub_cjk_search"}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "kind": {"type": "keyword"},
        "code": {"type": "keyword"},
        "name": {**_TEXT, "fields": {"sort": {"type": "keyword"}}},
        "body": _TEXT,
    },
}

NAME_BOOST = 10


class ElasticsearchSearchIndex:
    """One Elasticsearch index, ``<index_prefix>-catalog``; documents keyed ``kind:code``."""

    def __init__(self, url: str, index_prefix: str = "hub", *, client: Any = None) -> None:
        from elasticsearch import Elasticsearch

        self.name = f"{index_prefix}-catalog"
        self.client = client if client is not None else Elasticsearch(url, request_timeout=10)

    # -- helpers ---------------------------------------------------------------------------

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from elasticsearch import ApiError, NotFoundError, TransportError

        try:
            return fn(*args, **kwargs)
        except NotFoundError:
            raise
        except TransportError as exc:
            raise Unavailable(f"search backend unreachable during {what} ({type(exc).__name__})") from None
        except ApiError as exc:
            raise Unavailable(f"search backend refused {what} (HTTP {exc.meta.status})") from None

    def ensure_index(self) -> None:
        """Create the index with its mapping when it does not exist yet."""
        if not self._call("exists", self.client.indices.exists, index=self.name):
            from elasticsearch import BadRequestError

            try:
                self.client.indices.create(index=self.name, settings=SETTINGS, mappings=MAPPINGS)
            except BadRequestError as exc:
                # Another process created it first.
                if "resource_already_exists" not in str(exc):
                    raise Unavailable(f"cannot create search index {self.name}") from None

    @staticmethod
    def _id(kind: str, code: str) -> str:
        return f"{kind}:{code}"

    # -- SearchIndex -----------------------------------------------------------------------

    def index(self, docs: Iterable[SearchDoc]) -> None:
        from elasticsearch import helpers

        actions = [
            {
                "_index": self.name,
                "_id": self._id(d.kind, d.code),
                "_source": {"kind": d.kind, "code": d.code, "name": d.name, "body": d.body},
            }
            for d in docs
        ]
        if not actions:
            return
        self.ensure_index()
        # wait_for: a write is visible to the next search (read-your-writes for the caller).
        self._call("bulk index", helpers.bulk, self.client, actions, refresh="wait_for")

    def remove(self, kind: str, code: str) -> None:
        from elasticsearch import NotFoundError

        try:
            self._call(
                "delete", self.client.delete, index=self.name, id=self._id(kind, code), refresh="wait_for"
            )
        except NotFoundError:
            pass  # already absent (or no index yet)

    def rebuild(self, docs: Iterable[SearchDoc]) -> None:
        self._call("delete index", self.client.indices.delete, index=self.name, ignore_unavailable=True)
        self.ensure_index()
        self.index(docs)
        self._call("refresh", self.client.indices.refresh, index=self.name)

    def ping(self) -> None:
        if not self.client.ping():
            raise Unavailable("search backend (Elasticsearch) is not reachable")

    def search(self, q: str, *, kind: str | None = None, limit: int = 20, offset: int = 0) -> SearchResult:
        q = q.strip()
        if not q or limit <= 0:
            return SearchResult(total=0, hits=())
        must: dict[str, Any] = {
            "multi_match": {
                "query": q,
                "fields": ["name", "body"],
                "type": "cross_fields",
                "operator": "and",
            }
        }
        query: dict[str, Any] = {
            "bool": {
                "must": [must],
                # A whole-query match in the name outranks any body match.
                "should": [{"match": {"name": {"query": q, "operator": "and", "boost": NAME_BOOST}}}],
                "filter": [{"term": {"kind": kind}}] if kind else [],
            }
        }
        from elasticsearch import NotFoundError

        try:
            response = self.client.search(
                index=self.name,
                query=query,
                from_=offset,
                size=limit,
                track_total_hits=True,
                sort=["_score", {"name.sort": "asc"}, {"code": "asc"}],
            )
        except NotFoundError:
            return SearchResult(total=0, hits=())  # nothing indexed yet
        except Exception as exc:
            from elasticsearch import ApiError, TransportError

            if isinstance(exc, TransportError | ApiError):
                raise Unavailable(f"search backend failed ({type(exc).__name__})") from None
            raise
        hits = response["hits"]
        return SearchResult(
            total=int(hits["total"]["value"]),
            hits=tuple(
                SearchHit(kind=h["_source"]["kind"], code=h["_source"]["code"], name=h["_source"]["name"])
                for h in hits["hits"]
            ),
        )

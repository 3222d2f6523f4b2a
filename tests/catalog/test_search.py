"""One contract suite over every search backend: the embedded index on SQLite and on PostgreSQL,
and Elasticsearch when ``HUB_TEST_ELASTICSEARCH_URL`` names a server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from catalog.search import EmbeddedSearchIndex, SearchDoc, SearchIndex, grams, query_grams

DOCS = [
    SearchDoc("certificate-type", "CT-LICENCE", "营业执照", "市场监督管理局 企业名称 法定代表人 注册资本"),
    SearchDoc("certificate-type", "CT-FOOD", "食品经营许可证", "餐饮服务 食品销售 经营场所"),
    SearchDoc("item", "IT-FOOD", "食品经营许可（餐饮服务）", "营业执照 食品安全管理制度 Business licence"),
    SearchDoc("one-thing", "OT-RESTAURANT", "开办餐饮店一件事", "是否设置户外招牌 是否销售酒类"),
    SearchDoc("data-resource", "DR-REGISTRY", "企业登记信息", "Business registration data 每日更新"),
    SearchDoc("item", "IT-BIRTH", "出生医学证明办理", "新生儿 医院 出生"),
]


@pytest.fixture(params=["embedded", "elasticsearch"])
def index(request: pytest.FixtureRequest, session: Session, backend: str) -> Iterator[SearchIndex]:
    if request.param == "embedded":
        yield EmbeddedSearchIndex(session)
        return
    url = os.environ.get("HUB_TEST_ELASTICSEARCH_URL")
    if not url:
        pytest.skip("HUB_TEST_ELASTICSEARCH_URL is not set: no Elasticsearch server to test against")
    if backend != "sqlite":
        pytest.skip("Elasticsearch does not use the database: it runs once, beside SQLite")
    from catalog.search_es import ElasticsearchSearchIndex

    es = ElasticsearchSearchIndex(url, f"hubtest-{uuid.uuid4().hex[:8]}")
    try:
        yield es
    finally:
        es.client.indices.delete(index=es.name, ignore_unavailable=True)


@pytest.fixture
def filled(index: SearchIndex) -> SearchIndex:
    index.rebuild(DOCS)
    return index


def codes(index: SearchIndex, q: str, **kw: object) -> list[str]:
    return [h.code for h in index.search(q, **kw).hits]  # type: ignore[arg-type]


# -- grams ------------------------------------------------------------------------------------


def test_grams_are_words_and_cjk_unigrams_and_bigrams() -> None:
    assert grams("营业执照 ABC-12") == "营 业 执 照 营业 业执 执照 abc 12"


def test_query_grams_use_bigrams_and_a_lone_character_as_itself() -> None:
    assert query_grams("营业执照") == ["营业", "业执", "执照"]
    assert query_grams("餐") == ["餐"]
    assert query_grams('"*OR(') == ["or"]


# -- the contract -----------------------------------------------------------------------------


def test_two_character_query_finds_name_and_body_matches(filled: SearchIndex) -> None:
    assert codes(filled, "执照") == ["CT-LICENCE", "IT-FOOD"]


def test_one_character_query_finds_every_entry_holding_it(filled: SearchIndex) -> None:
    found = codes(filled, "餐")
    assert set(found) == {"CT-FOOD", "IT-FOOD", "OT-RESTAURANT"}


def test_name_matches_rank_before_body_matches(filled: SearchIndex) -> None:
    found = codes(filled, "餐")
    assert set(found[:2]) == {"IT-FOOD", "OT-RESTAURANT"} and found[2] == "CT-FOOD"
    assert codes(filled, "营业执照") == ["CT-LICENCE", "IT-FOOD"]


def test_every_query_gram_must_match(filled: SearchIndex) -> None:
    assert codes(filled, "营业 出生") == []
    assert codes(filled, "出生 医院") == ["IT-BIRTH"]


def test_latin_words_match_case_insensitively(filled: SearchIndex) -> None:
    assert set(codes(filled, "BUSINESS")) == {"IT-FOOD", "DR-REGISTRY"}
    assert codes(filled, "business registration") == ["DR-REGISTRY"]


def test_kind_narrows_the_results(filled: SearchIndex) -> None:
    assert codes(filled, "餐", kind="one-thing") == ["OT-RESTAURANT"]
    assert codes(filled, "执照", kind="item") == ["IT-FOOD"]
    assert filled.search("执照", kind="one-thing").total == 0


def test_paging_keeps_the_total_and_the_order(filled: SearchIndex) -> None:
    whole = filled.search("餐", limit=10)
    first = filled.search("餐", limit=2, offset=0)
    rest = filled.search("餐", limit=2, offset=2)
    assert whole.total == first.total == rest.total == 3
    assert [h.code for h in first.hits + rest.hits] == [h.code for h in whole.hits]


def test_hits_carry_kind_code_and_name(filled: SearchIndex) -> None:
    hit = filled.search("营业执照").hits[0]
    assert (hit.kind, hit.code, hit.name) == ("certificate-type", "CT-LICENCE", "营业执照")


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        "*",
        "OR",
        "(",
        ")",
        '执照"',
        "执照 OR",
        "执照*",
        "NEAR(执照",
        "name_grams:执照",
        "'",
        "\\",
        "!&|:*",
        "-执照",
        "执照 AND (",
        "^",
        "{name_grams}",
        "\x00",
        "' OR 1=1 --",
    ],
)
def test_hostile_input_never_breaks_the_query(filled: SearchIndex, hostile: str) -> None:
    result = filled.search(hostile)
    assert result.total == len(result.hits)


def test_operators_in_the_query_are_plain_text(filled: SearchIndex) -> None:
    assert (
        codes(filled, '执照"')
        == codes(filled, "执照*")
        == codes(filled, "(执照)")
        == ["CT-LICENCE", "IT-FOOD"]
    )
    # "OR" is a word to find, not an operator: nothing holds 执照 and the word "or".
    assert codes(filled, "执照 OR 出生") == []


def test_query_without_any_word_finds_nothing(filled: SearchIndex) -> None:
    assert filled.search("  ？！…  ").total == 0


def test_indexing_again_replaces_the_document(filled: SearchIndex) -> None:
    filled.index([SearchDoc("certificate-type", "CT-LICENCE", "企业营业执照（电子）", "电子证照")])
    assert codes(filled, "电子") == ["CT-LICENCE"]
    assert codes(filled, "法定代表人") == []
    assert filled.search("营业执照").hits[0].name == "企业营业执照（电子）"


def test_removed_documents_are_not_found(filled: SearchIndex) -> None:
    filled.remove("item", "IT-FOOD")
    filled.remove("item", "IT-NOT-THERE")
    assert codes(filled, "执照") == ["CT-LICENCE"]


def test_rebuild_replaces_the_whole_index(filled: SearchIndex) -> None:
    filled.rebuild(DOCS[-1:])
    assert filled.search("执照").total == 0
    assert codes(filled, "出生") == ["IT-BIRTH"]


def test_ping_answers(index: SearchIndex) -> None:
    index.ping()

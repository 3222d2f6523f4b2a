"""RFC 9162 Merkle tree: the recursive definitions of the RFC against our functions, every size."""

from __future__ import annotations

import hashlib

import pytest

from audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    blocks,
    consistency_path,
    consistency_proof,
    fold,
    inclusion_path,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 2.1.1, word for word (recursive), over the entries themselves."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


ENTRIES = [f"entry {i}".encode() for i in range(40)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def test_the_empty_tree_and_one_leaf() -> None:
    assert root_of([]) == EMPTY_ROOT == Frontier().root()
    assert root_of(LEAVES[:1]) == LEAVES[0] == hashlib.sha256(b"\x00entry 0").digest()


@pytest.mark.parametrize("n", range(1, 41))
def test_root_and_frontier_match_the_rfc_definition(n: int) -> None:
    frontier = Frontier()
    for leaf in LEAVES[:n]:
        frontier.append(leaf)
    assert root_of(LEAVES[:n]) == mth(ENTRIES[:n]) == frontier.root()
    assert len(frontier.nodes) == bin(n).count("1")


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 13, 16, 31, 40])
def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not(n: int) -> None:
    root = root_of(LEAVES[:n])
    for m in range(n):
        proof = inclusion_proof(m, LEAVES[:n])
        assert verify_inclusion(LEAVES[m], m, n, proof, root)
        assert not verify_inclusion(leaf_hash(b"forged"), m, n, proof, root)
        if n > 1:
            assert not verify_inclusion(LEAVES[m], (m + 1) % n, n, proof, root)


@pytest.mark.parametrize("n", [2, 3, 5, 7, 8, 13, 16, 31, 40])
def test_every_consistency_proof_verifies_and_a_changed_history_does_not(n: int) -> None:
    second = root_of(LEAVES[:n])
    for m in range(1, n + 1):
        proof = consistency_proof(m, LEAVES[:n])
        first = root_of(LEAVES[:m])
        assert verify_consistency(m, n, first, second, proof), (m, n)
        rewritten = root_of([leaf_hash(b"rewritten"), *LEAVES[1:m]])
        assert not verify_consistency(m, n, rewritten, second, proof)


def test_the_rfc_examples() -> None:
    # RFC 9162 2.1.5, with its names: leaves a..f and j, interior nodes g, h, i, k, l.
    a, b, c, d, e, f, j = LEAVES[:7]
    g, h, i = node_hash(a, b), node_hash(c, d), node_hash(e, f)
    k, l_ = node_hash(g, h), node_hash(i, j)
    seven = LEAVES[:7]
    assert inclusion_proof(0, seven) == [b, h, l_]
    assert inclusion_proof(3, seven) == [c, g, l_]
    assert inclusion_proof(4, seven) == [f, j, k]
    assert inclusion_proof(6, seven) == [i, k]
    assert consistency_proof(3, seven) == [c, d, g, l_]
    assert consistency_proof(4, seven) == [l_]
    assert consistency_proof(6, seven) == [i, j, k]


def _stored_tree(n: int) -> dict[tuple[int, int], bytes]:
    """The nodes a log of ``n`` entries stores: its leaves and the interior nodes appends complete."""
    frontier, stored = Frontier(), {}
    for i, leaf in enumerate(LEAVES[:n]):
        stored[(0, i)] = leaf
        stored.update({(level, idx): h for level, idx, h in frontier.append(leaf)})
    return stored


@pytest.mark.parametrize("n", range(1, 41))
def test_proofs_from_stored_nodes_equal_the_proofs_from_every_leaf(n: int) -> None:
    stored = _stored_tree(n)

    def range_hash(start: int, end: int) -> bytes:
        assert root_of(LEAVES[start:end]) == fold([stored[b] for b in blocks(start, end)])
        return fold([stored[b] for b in blocks(start, end)])

    for m in range(n):
        assert inclusion_path(m, n, range_hash) == inclusion_proof(m, LEAVES[:n])
    for m in range(1, n + 1):
        assert consistency_path(m, n, range_hash) == consistency_proof(m, LEAVES[:n])


def test_an_append_completes_the_nodes_it_closes() -> None:
    frontier = Frontier()
    completed = [frontier.append(leaf) for leaf in LEAVES[:8]]
    assert [[(level, idx) for level, idx, _ in c] for c in completed] == [
        [], [(1, 0)], [], [(1, 1), (2, 0)], [], [(1, 2)], [], [(1, 3), (2, 1), (3, 0)]
    ]
    assert completed[7][-1][2] == root_of(LEAVES[:8])

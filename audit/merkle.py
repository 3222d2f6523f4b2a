"""The Merkle tree of RFC 9162 (Certificate Transparency 2.0), section 2.1: hashes, proofs, checks.

Leaves are hashed as ``SHA-256(0x00 || entry)``, interior nodes as ``SHA-256(0x01 || left || right)``;
a tree of n leaves splits at the largest power of two below n. ``Frontier`` keeps the roots of the
complete subtrees of the log so far (at most log2(n) hashes), so appending costs O(log n) and the
root of the whole log is known at any moment without reading it. The verification functions are
the algorithms of RFC 9162 2.1.3.2 and 2.1.4.2, which an outside verifier can implement from the RFC.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "RangeHash",
    "blocks",
    "consistency_path",
    "consistency_proof",
    "fold",
    "inclusion_path",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 9162 2.1.1)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    # Bottom-up pairing gives the same tree as the recursive split: the lone right node of an
    # odd level is carried up unchanged.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 2.1.3.1): the audit path of leaf ``index`` in the tree of ``leaves``."""
    if not 0 <= index < len(leaves):
        raise ValueError("leaf index outside the tree")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root_of(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root_of(leaves[:k])]


def consistency_proof(first: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 2.1.4.1): that the tree of the first ``first`` leaves is a prefix."""
    if not 0 < first <= len(leaves):
        raise ValueError("the first tree must be non-empty and no larger than the second")
    return _subproof(first, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root_of(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root_of(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_of(leaves[:k])]


# MTH(D[start:end]) of a range of the log: how proofs read a tree without holding every leaf.
RangeHash = Callable[[int, int], bytes]


def inclusion_path(index: int, size: int, mth: RangeHash) -> list[bytes]:
    """PATH(m, D[n]) as ``inclusion_proof``, reading the tree through ``mth`` (stored nodes)."""
    if not 0 <= index < size:
        raise ValueError("leaf index outside the tree")

    def path(m: int, start: int, end: int) -> list[bytes]:
        if end - start == 1:
            return []
        k = _split(end - start)
        if m < k:
            return [*path(m, start, start + k), mth(start + k, end)]
        return [*path(m - k, start + k, end), mth(start, start + k)]

    return path(index, 0, size)


def consistency_path(first: int, size: int, mth: RangeHash) -> list[bytes]:
    """PROOF(m, D[n]) as ``consistency_proof``, reading the tree through ``mth``."""
    if not 0 < first <= size:
        raise ValueError("the first tree must be non-empty and no larger than the second")

    def sub(m: int, start: int, end: int, complete: bool) -> list[bytes]:
        if m == end - start:
            return [] if complete else [mth(start, end)]
        k = _split(end - start)
        if m <= k:
            return [*sub(m, start, start + k, complete), mth(start + k, end)]
        return [*sub(m - k, start + k, end, False), mth(start, start + k)]

    return sub(first, 0, size, True)


def blocks(start: int, end: int) -> list[tuple[int, int]]:
    """The complete, aligned subtrees covering leaves [start, end), left to right, as (level, index):
    the node at level L and index i covers leaves [i * 2**L, (i + 1) * 2**L). For every range a proof
    reads, MTH is these blocks' hashes folded from the right (``fold``)."""
    found = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length()
        while 1 << level > end - start:
            level -= 1
        found.append((level, start >> level))
        start += 1 << level
    return found


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root over complete subtrees given largest (leftmost) first, as ``Frontier.root``."""
    node = hashes[-1]
    for left in reversed(hashes[:-1]):
        node = node_hash(left, node)
    return node


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` show leaf hash ``leaf`` at ``index`` in the tree ``root``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: does ``proof`` show the tree ``first_root`` is a prefix of ``second_root``?"""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:  # a power of two: the first tree is a node of the second
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


@dataclass
class Frontier:
    """The roots of the log's complete subtrees, largest first: the whole tree in O(log n) hashes."""

    size: int = 0
    nodes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; return the interior nodes it completed as (level, index, hash)."""
        node, size, position, completed = leaf, self.size, self.size, []
        level = 0
        while size & 1:  # merge with each complete subtree of the same height
            node = node_hash(self.nodes.pop(), node)
            size >>= 1
            level += 1
            completed.append((level, position >> level, node))
        self.nodes.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.nodes:
            return EMPTY_ROOT
        node = self.nodes[-1]
        for left in reversed(self.nodes[:-1]):
            node = node_hash(left, node)
        return node

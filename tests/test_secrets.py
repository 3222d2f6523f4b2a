"""Secrets are compared in constant time: checked by reading every file.

``==`` on strings stops at the first differing character, so the time it takes tells an attacker
how much of a guessed token, PIN or code was right. Every comparison of a secret (or of a hash or
MAC made from one) goes through ``hmac.compare_digest`` — API tokens (catalog/clients.py),
verification codes (certificates/verification.py), the PKCS#11 PIN (signing/pkcs11.py), the QR
face digest (signing/qr/claims.py). Looking a row up by the keyed hash of a token in SQL
(``Model.token_hash == _hash(token)``) is fine: the hash of a random token reveals nothing, and
it is what an index is for."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hub", "kernel", "audit", "catalog", "certificates", "sharing", "signing")

# A value that is a secret by its name, or made from one by a hash, a MAC or an encoding.
SECRET_NAME = re.compile(r"(^|_)(token|secret|pin|password|passphrase|mac|verification_code)(_|$)")
KEEPS_SECRET = re.compile(r"hash|digest|hmac|sha\d+|encode|upper|lower|strip")


def _is_secret(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return bool(SECRET_NAME.search(node.id.lower()))
    if isinstance(node, ast.Attribute):
        return bool(SECRET_NAME.search(node.attr.lower()))
    if isinstance(node, ast.Call) and SECRET_NAME.search(ast.unparse(node.func).lower()):
        return True  # hash_verification_code(…), bearer_token(…): a function that makes a secret
    if isinstance(node, ast.Call) and KEEPS_SECRET.search(ast.unparse(node.func).lower()):
        sources = [*node.args, *([node.func.value] if isinstance(node.func, ast.Attribute) else [])]
        return any(_is_secret(source) for source in sources)
    return False


def _is_sql_column(node: ast.expr) -> bool:
    """``Model.column``: the comparison builds a SQL condition, it compares nothing in Python."""
    return (
        isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id[:1].isupper()
    )


def plain_comparisons_of_secrets(source: str) -> list[int]:
    """Lines where ``==`` or ``!=`` compares a secret outside SQL."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare) or not any(
            isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
        ):
            continue
        operands = [node.left, *node.comparators]
        if any(_is_secret(o) for o in operands) and not any(_is_sql_column(o) for o in operands):
            lines.append(node.lineno)
    return lines


def test_the_check_finds_a_plain_comparison_of_a_secret() -> None:
    assert plain_comparisons_of_secrets("ok = client.token_hash == _hash(secret)\n") == [1]
    assert plain_comparisons_of_secrets("if pin != given_pin:\n    pass\n") == [1]
    assert plain_comparisons_of_secrets("ok = hmac.compare_digest(a.token_hash, _hash(secret))\n") == []
    assert plain_comparisons_of_secrets("stmt = where(Copy.token_hash == _hash(token))\n") == []
    assert plain_comparisons_of_secrets("dotted = token.count('.') == 2\n") == []
    assert plain_comparisons_of_secrets("ok = hashlib.sha256(secret.encode()).hexdigest() == stored\n") == [1]
    assert plain_comparisons_of_secrets("ok = hmac.new(key, token.encode(), 'sha256').digest() == mac\n") == [
        1
    ]
    assert plain_comparisons_of_secrets("ok = stored == hash_verification_code(code)\n") == [1]
    # the hash of public data (a blob, a signed text) is no secret
    assert plain_comparisons_of_secrets("ok = hashlib.sha256(text).digest() != imprint\n") == []


def test_no_secret_is_compared_with_equals() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in plain_comparisons_of_secrets(path.read_text(encoding="utf-8"))
    ]
    assert found == [], f"compare these with hmac.compare_digest: {found}"

"""A verification's answer in plain Chinese words for the ``/verify`` page.

The domain answers in English sentences (``certificates.verification``, ``signing.validation``,
``signing.qr.verify``); the common ones are said here in Chinese, anything else is shown as it is.
Only what the API shows an anonymous verifier is shown (``VerificationOut``): the summary has no
holder code and no face data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from certificates.lifecycle import Status
from certificates.verification import STATUS_WORDS, Verification

RESULTS = {
    "valid": ("有效", "ok"),
    "invalid": ("无效", "bad"),
    "indeterminate": ("无法确认", "warn"),
}

STATUS_NAMES = {
    Status.VALID: "有效",
    Status.WITHHELD: "暂扣",
    Status.WITHDRAWN: "撤销",
    Status.CANCELLED: "注销",
    Status.EXPIRED: "失效",
    Status.TRANSFERRED: "迁出",
    Status.REVOKED: "吊销",
    Status.OTHER: "其他",
}

_STATUS_PROBLEMS = {
    Status.WITHHELD: "证照已被发证部门暂扣",
    Status.WITHDRAWN: "证照已被发证部门撤销",
    Status.CANCELLED: "证照已注销",
    Status.EXPIRED: "证照已失效（过期）",
    Status.TRANSFERRED: "证照已迁出",
    Status.REVOKED: "证照已被吊销",
    Status.OTHER: "证照目前不在有效状态（其他）",
}

PROBLEMS = {STATUS_WORDS[status]: words for status, words in _STATUS_PROBLEMS.items()} | {
    "the document carries no seal": "文件上没有电子印章",
    "The document carries no electronic seal.": "文件上没有电子印章",
    "The file is not a readable PDF.": "文件不是可读取的 PDF",
    "the document was changed after it was sealed": "文件在盖章之后被改动过",
    "Content was added or changed after sealing.": "盖章之后又添加或修改了内容",
    "The document was altered after sealing: its content no longer matches the seal.": (
        "文件在盖章之后被篡改：内容与印章不再相符"
    ),
    "The seal's cryptographic signature is invalid.": "印章的数字签名无效",
    "The seal certificate was revoked.": "印章证书已被吊销",
    "The seal was not issued by a trusted authority.": "印章不是受信任的机构签发的",
    "The timestamp on the seal could not be verified.": "印章上的时间戳无法验证",
    "the hub's registry holds no certificate for this document": "平台证照库中没有这份文件对应的证照",
    "the hub's registry holds no such certificate": "平台证照库中没有这张证照",
    "the seal is not the issuing department's": "印章不是发证部门的",
    "the certificate is not valid yet": "证照尚未生效",
    "the QR code does not match the certificate in the registry": "二维码与证照库中的证照不一致",
    "the signature does not match: the code was altered or forged": "二维码的签名不符：内容被改动或伪造",
    "the code is too long to be a hub certificate QR code": "内容太长，不是本平台证照的二维码",
    "the code does not say which key signed it": "二维码没有写明签名密钥",
}

# Sentences with a value in them: (pattern, the Chinese with the value put back in).
_PATTERNS = [
    (re.compile(r"The seal certificate was revoked on (\S+)\."), "印章证书已于 {0} 被吊销"),
    (re.compile(r"this version was replaced by a newer one \((.+)\)"), "此版本已被新版本取代（{0}）"),
    (re.compile(r"the certificate is not valid yet: it is valid from (\S+)"), "证照尚未生效：自 {0} 起有效"),
    (re.compile(r"the certificate has expired: it was valid until (\S+)"), "证照已过期：有效期至 {0}"),
    (re.compile(r"not a hub certificate QR code: (.+)"), "不是本平台证照的二维码（{0}）"),
    (re.compile(r"the code is damaged: (.+)"), "二维码已损坏（{0}）"),
    (
        re.compile(r"the code was signed with an unknown key \(kid (.+)\), not in the trust list"),
        ("二维码的签名密钥（{0}）不在信任列表中"),
    ),
    (re.compile(r"after the seal, (.+)"), "盖章之后：{0}"),
]


def problem_words(problem: str) -> str:
    """A problem in Chinese when it is a known sentence; else as the hub said it."""
    if problem in PROBLEMS:
        return PROBLEMS[problem]
    for pattern, words in _PATTERNS:
        match = pattern.fullmatch(problem)
        if match is not None:
            return words.format(*match.groups())
    return problem


def status_words(code: str) -> str:
    try:
        return STATUS_NAMES[Status(code)]
    except ValueError:
        return code


@dataclass(frozen=True)
class Answer:
    """What the page shows of a verification."""

    result: str  # valid / invalid / indeterminate, as the API says it
    words: str  # 有效 / 无效 / 无法确认
    tone: str  # the stylesheet's class: ok / bad / warn
    problems: list[str]
    certificate: dict[str, str] | None
    signature: dict[str, str] | None


def _yes(value: bool) -> str:
    return "是" if value else "否"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value is not None else "—"


def answer(v: Verification, *, with_signature: bool) -> Answer:
    """The page's answer; ``with_signature`` for a PDF (the API shows no seal for a code or a QR)."""
    words, tone = RESULTS[v.result]
    cert = v.certificate
    certificate = None
    if cert is not None:
        certificate = {
            "证照标识": cert.id,
            "证照类型": cert.type_name,
            "持证人": cert.holder_name,
            "发证部门": f"{cert.issuer_name}（{cert.issuer_code}）",
            "证照状态": status_words(cert.status),
            "有效期至": cert.valid_until.isoformat() if cert.valid_until is not None else "长期",
        }
    signature = None
    report = v.signature if with_signature else None
    if report is not None and report.signed:
        signature = {
            "盖章单位": report.signed_by or "—",
            "盖章时间": _when(report.signed_at),
            "时间戳": _yes(report.timestamped),
            "PAdES 级别": report.level or "—",
            "签名内容完整": _yes(report.intact),
            "印章受信任": _yes(report.trusted),
            "验证结论（ETSI）": report.indication.value
            + (f" / {report.sub_indication}" if report.sub_indication else ""),
        }
    return Answer(
        result=v.result,
        words=words,
        tone=tone,
        problems=[problem_words(p) for p in v.problems],
        certificate=certificate,
        signature=signature,
    )

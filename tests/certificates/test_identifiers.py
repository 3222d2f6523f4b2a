import random

import pytest

from certificates.identifiers import ALPHABET, ROOT, CertificateIdentifier, check_character, parse
from kernel.errors import ValidationFailed

PUBLISHED = [
    "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
    "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
]
SAMPLE = CertificateIdentifier("11100000000013338W032", "11220000013544541J", "2430599", 1)


@pytest.mark.parametrize("text", PUBLISHED)
def test_published_identifiers_parse_and_print_back(text: str) -> None:
    assert str(parse(text)) == text


@pytest.mark.parametrize("text", PUBLISHED)
def test_published_check_characters_are_recomputed(text: str) -> None:
    segments = text[len(ROOT) + 1 :].split(".")
    assert check_character("".join(segments[:4])) == segments[4]


def test_parse_exposes_segments() -> None:
    identifier = parse(PUBLISHED[2])
    assert identifier == CertificateIdentifier("11100000000013338W009", "11330105002500287C", "2025052201", 2)


def test_next_version_increments_version_and_recomputes_check() -> None:
    following = parse(PUBLISHED[0]).next_version()
    assert following.version == 2
    text = str(following)
    assert text.startswith(f"{ROOT}.11100000000013338W032.11220000013544541J.2430599.002.")
    assert text[-1] == check_character("11100000000013338W03211220000013544541J2430599002")
    assert parse(text) == following


def test_no_version_after_999() -> None:
    with pytest.raises(ValidationFailed):
        CertificateIdentifier(SAMPLE.type_code, SAMPLE.issuer_code, SAMPLE.serial, 999).next_version()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1.2.156.3005.1.11100000000013338W032.11220000013544541J.2430599.001.F",  # wrong root
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001",  # no check
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F.X",  # extra
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.G",  # wrong check
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.f",  # lower case check
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.01.F",  # 2-digit version
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.1.F",
        "1.2.156.3005.2.11100000000013338W32.11220000013544541J.2430599.001.F",  # short type code
        "1.2.156.3005.2.11100000000013338W03X.11220000013544541J.2430599.001.F",  # type seq not digits
        "1.2.156.3005.2.11100000000013338W032.1122000001354454J.2430599.001.F",  # short issuer
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.243059.001.F",  # serial too short
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J.243a599.001.F",  # lower-case serial
        "1.2.156.3005.2.11100000000013338W032.11220000013544541J..001.F",
        " 1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
    ],
)
def test_malformed_identifiers_are_refused_naming_the_id_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(text)
    assert caught.value.field == "id"


def test_wrong_check_character_has_its_own_code() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse(PUBLISHED[0][:-1] + "G")
    assert caught.value.code == "invalid_check_character"


def test_serial_length_bounds() -> None:
    CertificateIdentifier(SAMPLE.type_code, SAMPLE.issuer_code, "A" * 7)
    CertificateIdentifier(SAMPLE.type_code, SAMPLE.issuer_code, "9" * 32)
    with pytest.raises(ValidationFailed):
        CertificateIdentifier(SAMPLE.type_code, SAMPLE.issuer_code, "9" * 33)


@pytest.mark.parametrize("version", [0, 1000, -1])
def test_version_out_of_range_is_refused(version: int) -> None:
    with pytest.raises(ValidationFailed):
        CertificateIdentifier(SAMPLE.type_code, SAMPLE.issuer_code, SAMPLE.serial, version)


def test_check_character_refuses_characters_outside_the_alphabet() -> None:
    with pytest.raises(ValidationFailed):
        check_character("ABC-1")


def _random_body(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(49, 74)))


def test_every_single_character_substitution_changes_the_check_character() -> None:
    rng = random.Random(36904)
    bodies = [SAMPLE.body, *(_random_body(rng) for _ in range(40))]
    for body in bodies:
        original = check_character(body)
        for position in range(len(body)):
            for replacement in ALPHABET:
                if replacement == body[position]:
                    continue
                altered = body[:position] + replacement + body[position + 1 :]
                assert check_character(altered) != original, (body, position, replacement)


def test_parse_detects_any_substitution_in_a_published_identifier() -> None:
    text = PUBLISHED[1]
    start = len(ROOT) + 1
    for position in range(start, len(text) - 1):
        if text[position] == ".":
            continue
        for replacement in ALPHABET:
            if replacement == text[position]:
                continue
            altered = text[:position] + replacement + text[position + 1 :]
            with pytest.raises(ValidationFailed):
                parse(altered)


def _mod_37_36_by_the_standard(body: str) -> str:
    """The check character as /work/shared/docs/standards.md writes it, independently of the hub."""
    p = 36
    for c in body:
        t = (p + ALPHABET.index(c)) % 36 or 36
        p = (2 * t) % 37
    return ALPHABET[(37 - p) % 36]


def test_check_character_is_the_standards_mod_37_36_on_random_bodies() -> None:
    rng = random.Random(7064)
    bodies = [rng.choice(ALPHABET) for _ in range(200)]
    bodies += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(2, 120))) for _ in range(5000)]
    bodies += [_random_body(rng) for _ in range(5000)]  # the lengths the hub issues: 49 to 74
    for body in bodies:
        assert check_character(body) == _mod_37_36_by_the_standard(body), body


def test_every_issued_shape_keeps_verifying_with_its_check_character() -> None:
    rng = random.Random(36904)
    for _ in range(2000):
        identifier = CertificateIdentifier(
            "".join(rng.choice(ALPHABET) for _ in range(18)) + f"{rng.randint(0, 999):03d}",
            "".join(rng.choice(ALPHABET) for _ in range(18)),
            "".join(rng.choice(ALPHABET) for _ in range(rng.randint(7, 32))),
            rng.randint(1, 999),
        )
        text = str(identifier)
        assert text[-1] == _mod_37_36_by_the_standard(identifier.body)
        assert parse(text) == identifier


@pytest.mark.parametrize("body", ["abc", "ABC\n", "ABC*", "12 3", "Ａ1"])
def test_check_character_refuses_what_the_library_would_not(body: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_character(body)
    assert caught.value.field == "id"

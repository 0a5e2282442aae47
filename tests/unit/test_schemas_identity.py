"""ID checksum, masking, pseudonyms and redaction."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from schemas import is_valid_id, mask_id, mask_phone, pseudonym, redact
from schemas.identity import check_character


def test_the_standards_own_example_is_valid() -> None:
    assert is_valid_id("11010519491231002X")


def test_a_wrong_check_character_is_invalid() -> None:
    assert not is_valid_id("110105194912310021")


def test_the_check_character_is_computed_mod_11_2() -> None:
    assert check_character("51180219850312001") == "7"


def test_the_check_x_must_be_uppercase() -> None:
    assert not is_valid_id("11010519491231002x")


@pytest.mark.parametrize(
    "value", ["", "1101051949123100", "11010519491231002XX", "\uff111010519491231002X"]
)
def test_wrong_shapes_are_invalid_without_raising(value: str) -> None:
    assert not is_valid_id(value)


def test_check_character_refuses_a_wrong_body() -> None:
    with pytest.raises(ValueError, match="17 digits"):
        check_character("1234")


def test_mask_id_keeps_first_and_last_two() -> None:
    assert mask_id("51180219850312001X") == "5***************1X"


def test_mask_phone_keeps_three_and_four() -> None:
    assert mask_phone("13812345678") == "138****5678"


def test_masking_a_short_value_hides_it_all() -> None:
    assert (mask_id("12"), mask_phone("1234567")) == ("**", "*******")


def test_pseudonym_is_keyed_hmac_sha256_hex() -> None:
    key_a = pseudonym("11010519491231002X", b"secret-a")

    assert len(key_a) == 64 and int(key_a, 16) >= 0
    assert key_a == pseudonym("11010519491231002X", b"secret-a")
    assert key_a != pseudonym("11010519491231002X", b"secret-b")


@pytest.mark.parametrize("key", [b"k", b"secret-a", bytes(range(64)), b"x" * 65, b"\xff" * 200])
def test_pseudonym_equals_the_standard_hmac(key: bytes) -> None:
    for value in ("11010519491231002X", "13812345678", "", "é"):
        expected = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
        assert pseudonym(value, key) == expected


def test_pseudonym_refuses_an_empty_key() -> None:
    with pytest.raises(ValueError, match="key"):
        pseudonym("11010519491231002X", b"")


def test_redact_masks_ids_and_phones_in_raw_bytes() -> None:
    raw = b'{"person_id":"11010519491231002X","phone":"13812345678","t":1665707467250}'

    assert redact(raw) == (
        b'{"person_id":"1***************2X","phone":"138****5678","t":1665707467250}'
    )


def test_redact_works_on_bytes_that_are_not_utf8() -> None:
    assert redact(b"\xff13812345678\xfe") == b"\xff138****5678\xfe"


def test_the_check_character_matches_the_standards_weighted_sum() -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    for n in range(0, 10**17, 10**17 // 1009):
        body = f"{n:017d}"
        total = sum(w * int(d) for w, d in zip(weights, body, strict=True))

        assert check_character(body) == "10X98765432"[total % 11], body

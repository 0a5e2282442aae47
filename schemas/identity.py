"""Resident ID numbers and phone numbers: checking, masking, pseudonyms, redaction.

Called by the feed models (the ``person_id`` checksum), by ingest (a keyed
pseudonym and a masked form replace the raw values, which stop there), by the
dead-letter builder and ``controlfeed validate`` (raw text is redacted before it
is stored or shown). Everything here is pure and never raises on odd input:
a value that is not an ID number is simply not valid, and masking it still
hides it.

The ID number is the 18-character resident identity number of GB 11643-1999:
17 digits and a check character (a digit or ``X``) computed with ISO 7064
MOD 11-2.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

__all__ = [
    "check_character",
    "is_valid_id",
    "mask_id",
    "mask_phone",
    "pseudonym",
    "redact",
]

_CHECK = "10X98765432"
"""Check character indexed by the weighted sum mod 11."""

_ID_RUN = re.compile(rb"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
"""In raw bytes: something shaped like an ID number, not part of a longer number."""
_PHONE_RUN = re.compile(rb"(?<![0-9])1[0-9]{10}(?![0-9])")
"""In raw bytes: an 11-digit mainland mobile number, not part of a longer number."""


def check_character(first17: str) -> str:
    """The check character (``0``-``9`` or ``X``) for 17 digits.

    Raises ``ValueError`` when ``first17`` is not exactly 17 ASCII digits.
    """
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("an ID number's body is 17 digits")
    return _check(first17)


def _check(body: str) -> str:
    """The check character of 17 ASCII digits (not checked here: callers do).

    ISO 7064 MOD 11-2 weighs digit i (from 0) by 2**(17-i) mod 11. Read in base
    13, the digits give sum(d_i * 13**(16-i)), and 13 = 2 (mod 11), so twice
    that is the weighted sum mod 11: ``int`` does the loop in C. This runs for
    every scan, so it matters.
    """
    return _CHECK[2 * int(body, 13) % 11]


def is_valid_id(value: str) -> bool:
    """True when ``value`` is 17 digits and the right check character (uppercase ``X``).

    Called by the ``person_id`` validator of the scan models; False means the
    record is bad input (``bad_value:person_id``).
    """
    if len(value) != 18:
        return False
    body = value[:17]
    return body.isascii() and body.isdigit() and _check(body) == value[17]


def _mask(value: str, keep_head: int, keep_tail: int) -> str:
    if len(value) <= keep_head + keep_tail:
        return "*" * len(value)
    hidden = len(value) - keep_head - keep_tail
    return value[:keep_head] + "*" * hidden + value[len(value) - keep_tail :]


def mask_id(value: str) -> str:
    """The readable masked form of an ID number: first character and last two.

    ``mask_id("51180219850312001X") == "5***************1X"``. A value too short
    to keep anything is all stars. Used for alerts a person must read.
    """
    if len(value) == 18:  # every valid ID number: one slice less, no arithmetic
        return value[0] + "***************" + value[16:]
    return _mask(value, 1, 2)


def mask_phone(value: str) -> str:
    """The readable masked form of a phone number: first three digits and last four.

    ``mask_phone("13812345678") == "138****5678"``; a value of 7 characters or
    fewer is all stars.
    """
    if len(value) == 11:  # every valid phone number
        return value[:3] + "****" + value[7:]
    return _mask(value, 3, 4)


def pseudonym(value: str, key: bytes) -> str:
    """The keyed pseudonym of an ID or phone number: HMAC-SHA256, 64 lowercase hex.

    Called at ingest with the secret from the settings; the same value and key
    always give the same pseudonym, in every process. Never use an unkeyed hash
    instead: ID numbers have so little entropy that it can be reversed by trying
    them all. Raises ``ValueError`` when the key is empty.
    """
    if not key:
        raise ValueError("a pseudonym needs a non-empty secret key")
    inner, outer = _keyed(key)
    digest = inner.copy()
    digest.update(value.encode("utf-8"))
    result = outer.copy()
    result.update(digest.digest())
    return result.hexdigest()


@lru_cache(maxsize=8)
def _keyed(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """SHA-256 states already fed ``key ^ ipad`` and ``key ^ opad`` (RFC 2104 HMAC).

    ``hmac.new(key, value, sha256).hexdigest()`` equals finishing copies of these
    two (``tests/unit/test_schemas_identity.py`` checks it), at half the cost:
    the key's two blocks are hashed once per key instead of once per scan.
    """
    block = key if len(key) <= _BLOCK else hashlib.sha256(key).digest()
    block = block.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner, outer


_BLOCK = 64
"""SHA-256's block size in bytes (the HMAC key is padded or hashed to it)."""


def redact(raw: bytes) -> bytes:
    """``raw`` with every ID-shaped and mobile-shaped digit run masked.

    Called before a rejected record is stored (dead letter) or printed
    (``controlfeed validate``): the raw ID and phone numbers stop at ingest even
    when the record around them is bad. Works on bytes, so it also covers
    records that are not UTF-8. Other digit runs (times, codes) are kept.
    """
    masked = _ID_RUN.sub(lambda m: mask_id(m.group().decode("ascii")).encode("ascii"), raw)
    return _PHONE_RUN.sub(lambda m: mask_phone(m.group().decode("ascii")).encode("ascii"), masked)

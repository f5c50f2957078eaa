"""The 18-character unified social credit code (统一社会信用代码, GB 32100-2015)."""

from __future__ import annotations

import unicodedata

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(first17: str) -> str:
    """The 18th character for the first 17."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Upper-case, half-width, without spaces."""
    return unicodedata.normalize("NFKC", code or "").strip().replace(" ", "").upper()


def is_valid(code: str) -> bool:
    """Whether ``code`` has 18 characters from the alphabet and a correct check character."""
    code = normalise(code)
    if len(code) != 18 or any(c not in ALPHABET for c in code):
        return False
    return check_char(code[:17]) == code[17]


def make(first17: str) -> str:
    """A valid code from its first 17 characters (demo data and tests)."""
    return first17 + check_char(first17)

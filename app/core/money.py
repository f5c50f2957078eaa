"""Money is integer fen. Parsing goes through Decimal after NFKC; never a float."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from app.core.errors import ValidationFailed

_NUMBER = re.compile(r"^([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?$")  # ASCII digits only
MAX_FEN = 10**15  # ten trillion yuan: beyond any fund, well inside BIGINT


def parse_fen(text: str | int | None, *, unit: str = "yuan") -> int:
    """Parse an amount typed by a user into integer fen.

    Accepts ``12,345.67``, full-width digits (``１２３４５.６７``), an optional
    元 or 万元/万 suffix (``1.5万``), and ``unit="wanyuan"`` for sheets in 万元.
    Raises ``ValidationFailed`` for exponents, NaN, negatives, more than 2
    decimals of 元 or 6 of 万元, and anything else that is not a plain amount.
    """
    if isinstance(text, bool) or text is None:
        raise ValidationFailed(str(_l("请输入金额。")))
    if isinstance(text, float):  # a float has already lost the exact amount
        raise ValidationFailed(str(_l("金额格式不正确：%(value)s", value=str(text))))
    if isinstance(text, int):
        if text < 0:
            raise ValidationFailed(str(_l("金额不能为负数。")))
        if text > MAX_FEN:
            raise ValidationFailed(str(_l("金额过大。")))
        return text
    raw = unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "")
    if raw.endswith("万元") or raw.endswith("万"):
        # removesuffix, not rstrip: "1万万" must be refused, not read as 1万.
        raw, unit = raw.removesuffix("元").removesuffix("万"), "wanyuan"
    elif raw.endswith("元"):
        raw = raw[:-1]
    if raw.startswith("-"):
        raise ValidationFailed(str(_l("金额不能为负数。")))
    if not raw:
        raise ValidationFailed(str(_l("请输入金额。")))
    if not _NUMBER.match(raw):
        raise ValidationFailed(str(_l("金额格式不正确：%(value)s", value=str(text))))
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules it out
        raise ValidationFailed(str(_l("金额格式不正确：%(value)s", value=str(text)))) from exc
    places = -value.as_tuple().exponent if value.as_tuple().exponent < 0 else 0
    if unit == "wanyuan":
        if places > 6:
            raise ValidationFailed(str(_l("以万元为单位时最多保留6位小数。")))
        fen = value * 1_000_000
    else:
        if places > 2:
            raise ValidationFailed(str(_l("以元为单位时最多保留2位小数。")))
        fen = value * 100
    if fen > MAX_FEN:
        raise ValidationFailed(str(_l("金额过大。")))
    return int(fen)


def format_yuan(fen: int | None, *, symbol: bool = False) -> str:
    """``123456789`` → ``1,234,567.89`` (元)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{'¥' if symbol else ''}{sign}{yuan:,}.{cents:02d}"


def format_wanyuan(fen: int | None, places: int = 2) -> str:
    """``150000000`` → ``150.00`` (万元), rounded half-up."""
    if fen is None:
        return ""
    value = (Decimal(int(fen)) / Decimal(1_000_000)).quantize(
        Decimal(1).scaleb(-places), rounding="ROUND_HALF_UP"
    )
    return f"{value:,}"

"""Money is integer fen, parsed through Decimal; never a float."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import ValidationFailed
from app.core.money import MAX_FEN, format_wanyuan, format_yuan, parse_fen


@pytest.mark.parametrize(
    ("text", "unit", "fen"),
    [
        ("12,345.67", "yuan", 1_234_567),
        ("12345.67", "yuan", 1_234_567),
        ("１２３４５.６７", "yuan", 1_234_567),
        ("１２，３４５．６７", "yuan", 1_234_567),
        (" 100 ", "yuan", 10_000),
        ("0.5", "yuan", 50),
        ("100元", "yuan", 10_000),
        ("1.5万", "yuan", 1_500_000),
        ("1.5万元", "yuan", 1_500_000),
        ("1.5", "wanyuan", 1_500_000),
        ("1.234567", "wanyuan", 1_234_567),
        ("0.000001", "wanyuan", 1),
        ("1,000", "wanyuan", 1_000_000_000),
        (0, "yuan", 0),
        (1_234, "yuan", 1_234),
    ],
)
def test_parse_examples(text, unit, fen):
    assert parse_fen(text, unit=unit) == fen
    assert isinstance(parse_fen(text, unit=unit), int)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("1.234", "yuan"),
        ("1.2345678", "wanyuan"),
        ("1.2345678万", "yuan"),
        ("1e5", "yuan"),
        ("1E5", "yuan"),
        ("NaN", "yuan"),
        ("nan", "yuan"),
        ("inf", "yuan"),
        ("Infinity", "yuan"),
        ("-1", "yuan"),
        ("-0.01", "yuan"),
        ("－5", "yuan"),
        ("", "yuan"),
        ("   ", "yuan"),
        ("元", "yuan"),
        ("abc", "yuan"),
        ("1.2.3", "yuan"),
        ("12,34.5", "yuan"),
        ("1,2345", "yuan"),
        ("0x10", "yuan"),
        ("1_000", "yuan"),
        ("+5", "yuan"),
        (".5", "yuan"),
        ("5.", "yuan"),
        ("1万万", "yuan"),
        ("١٢", "yuan"),
        (True, "yuan"),
        (False, "yuan"),
        (None, "yuan"),
        (-1, "yuan"),
        (MAX_FEN + 1, "yuan"),
        ("100000000000000", "yuan"),
    ],
)
def test_parse_rejections(text, unit):
    with pytest.raises(ValidationFailed):
        parse_fen(text, unit=unit)


def test_rejection_messages_are_chinese():
    with pytest.raises(ValidationFailed, match="最多保留2位小数"):
        parse_fen("1.234")
    with pytest.raises(ValidationFailed, match="最多保留6位小数"):
        parse_fen("1.2345678", unit="wanyuan")
    with pytest.raises(ValidationFailed, match="不能为负数"):
        parse_fen("-3")
    with pytest.raises(ValidationFailed, match="请输入金额"):
        parse_fen("")


def test_float_is_never_accepted():
    with pytest.raises(ValidationFailed):
        parse_fen(0.1)  # type: ignore[arg-type]
    # A float's text form passes only as the exact decimal it reads as.
    assert parse_fen("0.1") == 10 and parse_fen("0.3") == 30


@pytest.mark.parametrize(
    ("fen", "yuan", "wan2", "wan6"),
    [
        (0, "0.00", "0.00", "0.000000"),
        (1, "0.01", "0.00", "0.000001"),
        (123_456_789, "1,234,567.89", "123.46", "123.456789"),
        (150_000_000, "1,500,000.00", "150.00", "150.000000"),
        (-12_345, "-123.45", "-0.01", "-0.012345"),
        (5_000, "50.00", "0.01", "0.005000"),  # 0.005 万元 rounds half up
        (1_500_000_000_000, "15,000,000,000.00", "1,500,000.00", "1,500,000.000000"),
    ],
)
def test_format_examples(fen, yuan, wan2, wan6):
    assert format_yuan(fen) == yuan
    assert format_wanyuan(fen) == wan2
    assert format_wanyuan(fen, 6) == wan6


def test_format_none_and_symbol():
    assert format_yuan(None) == "" and format_wanyuan(None) == ""
    assert format_yuan(100, symbol=True) == "¥1.00"


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_format_then_parse_round_trips(fen):
    assert parse_fen(format_yuan(fen)) == fen
    assert parse_fen(format_wanyuan(fen, 6), unit="wanyuan") == fen
    assert parse_fen(format_wanyuan(fen, 6) + "万") == fen

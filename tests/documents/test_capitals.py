"""Amounts in capital numerals (大写) as contracts write them, checked on the central bank's own examples."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grants.documents import amount_in_capitals


@pytest.mark.parametrize(("amount", "words"), [
    ("50000", "伍万元整"),
    ("50000.00", "伍万元整"),
    ("0", "零元整"),
    ("10", "壹拾元整"),
    ("15", "壹拾伍元整"),
    ("100", "壹佰元整"),
    ("101", "壹佰零壹元整"),
    ("1001", "壹仟零壹元整"),
    ("10010", "壹万零壹拾元整"),
    ("100000", "壹拾万元整"),
    ("1000000", "壹佰万元整"),
    ("100500", "壹拾万零伍佰元整"),
    ("12345678", "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元整"),
    ("100000000", "壹亿元整"),
    ("100010000", "壹亿零壹万元整"),
    ("100000001", "壹亿零壹元整"),
    ("110000000", "壹亿壹仟万元整"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    # 《支付结算办法》 (人民银行) examples:
    ("1680.32", "壹仟陆佰捌拾元零叁角贰分"),
    ("107000.53", "壹拾万柒仟元零伍角叁分"),
    ("6007.14", "陆仟零柒元壹角肆分"),
    ("325.04", "叁佰贰拾伍元零肆分"),
    ("1409.50", "壹仟肆佰零玖元伍角整"),
    ("0.05", "伍分"),
    ("0.50", "伍角整"),
    ("0.55", "伍角伍分"),
    ("1.05", "壹元零伍分"),
    ("-3", "负叁元整"),
])
def test_amount_in_capitals(amount, words):
    assert amount_in_capitals(Decimal(amount)) == words


def test_rounds_to_the_fen_half_up():
    assert amount_in_capitals(Decimal("0.005")) == "壹分"
    assert amount_in_capitals(Decimal("12.344")) == "壹拾贰元叁角肆分"


def test_accepts_int_and_str():
    assert amount_in_capitals(50000) == amount_in_capitals("50000.00") == "伍万元整"


def test_refuses_amounts_beyond_the_units():
    with pytest.raises(ValueError, match="too large"):
        amount_in_capitals(Decimal(10) ** 16)


DIGIT = {char: value for value, char in enumerate("零壹贰叁肆伍陆柒捌玖")}
UNIT = {"拾": 10, "佰": 100, "仟": 1000}


def parse_capitals(words: str) -> Decimal:
    """Read capital numerals back (ignoring 零, which only marks skipped places)."""
    sign = -1 if words.startswith("负") else 1
    words = words.removeprefix("负").removesuffix("整")
    total, section, digit = 0, 0, 0
    yuan, _, cents_part = words.partition("元") if "元" in words else ("", "", words)
    for char in yuan:
        if char in DIGIT:
            digit = DIGIT[char]
        elif char in UNIT:
            section += digit * UNIT[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    total += section + digit
    cents = sum(DIGIT[digit] * (10 if unit == "角" else 1)
                for digit, unit in re.findall(r"([壹贰叁肆伍陆柒捌玖])([角分])", cents_part))
    return sign * (Decimal(total) + Decimal(cents) / 100)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"), places=2)


@given(amounts)
def test_capitals_read_back_to_the_amount(amount):
    assert parse_capitals(amount_in_capitals(amount)) == amount


@given(amounts)
def test_zeros_are_written_once_and_never_before_a_unit(amount):
    words = amount_in_capitals(amount)
    assert "零零" not in words
    assert not words.startswith("零")
    assert not re.search(r"零[元万亿角分拾佰仟整]", words), words
    # 整 exactly when there are no fen.
    assert words.endswith("整") == (amount % Decimal("0.1") == 0)

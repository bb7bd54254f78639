"""Every service reads money through `amount_parse`: what it accepts and what it refuses, with which message."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from grants.errors import ApplicationError
from grants.services.money import amount_parse


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):  # the messages compared below are the English msgids
        yield


@pytest.mark.parametrize(("typed", "read"), [
    ("20000", Decimal("20000")), (" 1200.50 ", Decimal("1200.50")), ("1,200.50", Decimal("1200.50")),
    ("12,345,678.90", Decimal("12345678.90")), (Decimal("0.01"), Decimal("0.01")),
])
def test_amounts_in_yuan_are_read(typed, read):
    assert amount_parse(typed) == read


@pytest.mark.parametrize(("typed", "message"), [
    ("1,5", "Enter an amount in yuan, such as 20000.00."),  # a decimal comma, not 15
    ("12,34", "Enter an amount in yuan, such as 20000.00."),
    ("1,,000", "Enter an amount in yuan, such as 20000.00."),
    ("两万", "Enter an amount in yuan, such as 20000.00."),
    ("NaN", "Enter an amount in yuan, such as 20000.00."),
    ("0", "The amount must be more than zero."),
    ("-5", "The amount must be more than zero."),
    ("1e12", "The amount is too large."),
    ("10.005", "Amounts are in yuan with at most two decimals (fen)."),
])
def test_anything_else_is_refused_with_its_reason(typed, message):
    with pytest.raises(ApplicationError) as refused:
        amount_parse(typed, field="recommended_amount")
    assert (refused.value.code, refused.value.field, refused.value.message) == (
        "invalid_amount", "recommended_amount", message)


def test_a_report_may_say_nothing_was_spent_but_not_less():
    assert amount_parse("0", zero_allowed=True) == 0
    with pytest.raises(ApplicationError) as refused:
        amount_parse("-1", zero_allowed=True)
    assert refused.value.message == "The amount cannot be negative."

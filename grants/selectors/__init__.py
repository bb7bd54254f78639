"""Shared reads of the grant domain, scoped to what a person may see."""

from .applications import application_audit_trail, applications_visible_to, applications_with_publicity_over
from .money import (
    BalancePoint,
    Statement,
    YearlyIndicators,
    application_money,
    fund_balance,
    fund_balance_series,
    fund_statement,
    funds_visible_to,
    ledger_entries,
    ledger_problems,
    totals_by_category,
    totals_by_community,
    yearly_indicators,
)

__all__ = [
    "BalancePoint",
    "Statement",
    "YearlyIndicators",
    "application_audit_trail",
    "application_money",
    "applications_visible_to",
    "applications_with_publicity_over",
    "fund_balance",
    "fund_balance_series",
    "fund_statement",
    "funds_visible_to",
    "ledger_entries",
    "ledger_problems",
    "totals_by_category",
    "totals_by_community",
    "yearly_indicators",
]

"""Shared reads of the grant domain, scoped to what a person may see."""

from .applications import (
    application_audit_trail,
    applications_visible_to,
    role_holders,
)
from .money import (
    BalancePoint,
    Statement,
    YearlyIndicators,
    application_money,
    fund_balance,
    fund_balance_series,
    fund_donations,
    fund_statement,
    funds_visible_to,
    ledger_entries,
    ledger_problems,
    paid_tranches,
    payable_tranches,
    refundable_applications,
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
    "fund_balance",
    "fund_balance_series",
    "fund_donations",
    "fund_statement",
    "funds_visible_to",
    "ledger_entries",
    "ledger_problems",
    "paid_tranches",
    "payable_tranches",
    "refundable_applications",
    "role_holders",
    "totals_by_category",
    "totals_by_community",
    "yearly_indicators",
]

"""The grant domain's models."""

from .organisations import (  # noqa: I001  (organisations first: states.py imports Role from it)
    Community,
    CommunityAllocation,
    Foundation,
    Fund,
    Membership,
    Role,
    StreetOffice,
)
from .calendar import CalendarDay
from .applications import (
    Attachment,
    AuditEntry,
    BeneficiaryGroup,
    BudgetLine,
    ConflictDeclaration,
    GrantApplication,
    Objection,
    ServiceCategory,
)
from .money import Donation, FundBalance, LedgerEntry, Tranche
from .reporting import ActualSpending, CompletionReport, DeadlineExtension, ProgressReport, ServedBeneficiaries
from .platforms import DonationPlatform

__all__ = [
    "ActualSpending",
    "CompletionReport",
    "DeadlineExtension",
    "ProgressReport",
    "ServedBeneficiaries",
    "Attachment",
    "AuditEntry",
    "BeneficiaryGroup",
    "BudgetLine",
    "CalendarDay",
    "Community",
    "CommunityAllocation",
    "ConflictDeclaration",
    "Donation",
    "DonationPlatform",
    "Foundation",
    "Fund",
    "FundBalance",
    "GrantApplication",
    "LedgerEntry",
    "Membership",
    "Objection",
    "Role",
    "ServiceCategory",
    "StreetOffice",
    "Tranche",
]

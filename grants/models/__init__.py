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
    "Attachment",
    "AuditEntry",
    "BeneficiaryGroup",
    "BudgetLine",
    "CalendarDay",
    "Community",
    "CommunityAllocation",
    "CompletionReport",
    "ConflictDeclaration",
    "DeadlineExtension",
    "Donation",
    "DonationPlatform",
    "Foundation",
    "Fund",
    "FundBalance",
    "GrantApplication",
    "LedgerEntry",
    "Membership",
    "Objection",
    "ProgressReport",
    "Role",
    "ServedBeneficiaries",
    "ServiceCategory",
    "StreetOffice",
    "Tranche",
]

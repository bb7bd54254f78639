"""Shared fixtures: a small named cast of people, fast and private file storage, the `postgres` marker.

Who may see what (grants.selectors.applications_visible_to) and do what (grants.permissions):

    applicant              applicant of community A1 (street A): sees A1's applications, drafts included;
                           drafts, submits, resubmits, withdraws and reports for A1.
    applicant_b            applicant of community B1 (street B): sees only B1's applications.
    community_head         head of A1: sees A1's applications; confirms them (unless they submitted).
    street_reviewer        reviewer of street A: sees A1 and A2 once out of draft; reviews, returns, rejects,
                           verifies completion reports of street A.
    street_leader          leader of street A: sees as the reviewer does; signs off for street A.
    other_street_reviewer  reviewer of street B: sees only B1 (out of draft); may do nothing on street A's.
    programme_officer      foundation: sees every non-draft; scores and recommends, mid-term and completion.
    secretary_general      foundation: sees every non-draft; approves, objections, agreement, cancels.
    board_member           foundation: sees every non-draft; approves above the board threshold.
    finance                foundation: sees every non-draft; closes (and pays, see grants.permissions.may_pay).
    auditor                foundation: sees every non-draft; changes nothing.
    outsider               no role anywhere: sees nothing, may do nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from grants.models import Role

from .factories import (
    CommunityFactory,
    FoundationFactory,
    FundFactory,
    ServiceCategoryFactory,
    StreetOfficeFactory,
    UserFactory,
)


def _postgres_missing(item: pytest.Item) -> bool:
    return item.get_closest_marker("postgres") is not None and connection.vendor != "postgresql"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip `postgres` tests on another database, unless CI demands PostgreSQL (then they fail, see below)."""
    if _postgres_missing(item) and os.environ.get("REQUIRE_POSTGRES_TESTS") != "1":
        pytest.skip(f"needs PostgreSQL (row locks and real concurrency); the database is {connection.vendor}")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """With REQUIRE_POSTGRES_TESTS=1 a `postgres` test on another database fails, without running its body."""
    if _postgres_missing(item):
        pytest.fail(f"REQUIRE_POSTGRES_TESTS=1 but the test database is {connection.vendor}, not PostgreSQL: "
                    "set DATABASE_URL=postgres://... for this run.", pytrace=False)


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Attachments go to a temporary folder, never into the project's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


FUND_MONEY = Decimal("10000000.00")

PEOPLE = (
    "applicant", "applicant_b", "community_head", "street_reviewer", "street_leader", "other_street_reviewer",
    "programme_officer", "secretary_general", "board_member", "finance", "auditor", "outsider",
)


@dataclass
class Cast:
    """The organisations and the named people of the tests (see the module docstring)."""

    foundation: object
    fund: object
    street_a: object
    street_b: object
    a1: object
    a2: object
    b1: object
    elder_care: object
    children: object
    closed_category: object
    applicant: object
    applicant_b: object
    community_head: object
    street_reviewer: object
    street_leader: object
    other_street_reviewer: object
    programme_officer: object
    secretary_general: object
    board_member: object
    finance: object
    auditor: object
    outsider: object

    @property
    def people(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in PEOPLE}

    def __repr__(self) -> str:  # keeps pytest output short
        return f"Cast({', '.join(f.name for f in fields(self))})"


@pytest.fixture
def cast(db) -> Cast:
    foundation = FoundationFactory(name="贵州省红十字基金会", short_name="省红基会")
    fund = FundFactory(foundation=foundation, code="community", board_threshold=Decimal("100000.00"))
    street_a = StreetOfficeFactory(name="云潭街道")
    street_b = StreetOfficeFactory(name="金华园街道")
    a1 = CommunityFactory(street_office=street_a, name="宇虹社区")
    a2 = CommunityFactory(street_office=street_a, name="阅湖社区")
    b1 = CommunityFactory(street_office=street_b, name="碧海社区")

    def person(username: str, *roles: tuple[Role, object]):
        return UserFactory(username=username, roles=roles)

    cast = Cast(
        foundation=foundation, fund=fund, street_a=street_a, street_b=street_b, a1=a1, a2=a2, b1=b1,
        elder_care=ServiceCategoryFactory(fund=fund, code="elder_care", name="敬老", name_en="elder care"),
        children=ServiceCategoryFactory(fund=fund, code="children", name="扶小", name_en="children"),
        closed_category=ServiceCategoryFactory(fund=fund, code="military", name="双拥", is_active=False),
        applicant=person("applicant", (Role.APPLICANT, a1)),
        applicant_b=person("applicant_b", (Role.APPLICANT, b1)),
        community_head=person("community_head", (Role.COMMUNITY_HEAD, a1)),
        street_reviewer=person("street_reviewer", (Role.STREET_REVIEWER, street_a)),
        street_leader=person("street_leader", (Role.STREET_LEADER, street_a)),
        other_street_reviewer=person("other_street_reviewer", (Role.STREET_REVIEWER, street_b)),
        programme_officer=person("programme_officer", (Role.PROGRAMME_OFFICER, foundation)),
        secretary_general=person("secretary_general", (Role.SECRETARY_GENERAL, foundation)),
        board_member=person("board_member", (Role.BOARD_MEMBER, foundation)),
        finance=person("finance", (Role.FINANCE, foundation)),
        auditor=person("auditor", (Role.AUDITOR, foundation)),
        outsider=person("outsider"),
    )
    # Approvals commit money from the fund's available balance: the founding donor's gift has arrived.
    from grants.services import donation_record

    donation_record(actor=cast.finance, fund=fund, amount=FUND_MONEY, donor_name="贵州某商贸有限公司",
                    donor_kind="company", purpose="社区公益专项基金", received_on=timezone.localdate())
    return cast


@dataclass
class DualRoles:
    """People holding two roles, for separation-of-duties rules."""

    applicant_head: object  # applicant and head of A1
    applicant_street_reviewer: object  # applicant of A1 and reviewer of street A
    reviewer_leader: object  # reviewer and leader of street A
    officer_secretary: object  # programme officer and secretary-general
    secretary_board: object  # secretary-general and board member
    secretary_finance: object  # secretary-general and finance


@pytest.fixture
def dual(cast: Cast) -> DualRoles:
    def person(username: str, *roles: tuple[Role, object]):
        return UserFactory(username=username, roles=roles)

    return DualRoles(
        applicant_head=person("applicant_head", (Role.APPLICANT, cast.a1), (Role.COMMUNITY_HEAD, cast.a1)),
        applicant_street_reviewer=person("applicant_street_reviewer", (Role.APPLICANT, cast.a1),
                                         (Role.STREET_REVIEWER, cast.street_a)),
        reviewer_leader=person("reviewer_leader", (Role.STREET_REVIEWER, cast.street_a),
                               (Role.STREET_LEADER, cast.street_a)),
        officer_secretary=person("officer_secretary", (Role.PROGRAMME_OFFICER, cast.foundation),
                                 (Role.SECRETARY_GENERAL, cast.foundation)),
        secretary_board=person("secretary_board", (Role.SECRETARY_GENERAL, cast.foundation),
                               (Role.BOARD_MEMBER, cast.foundation)),
        secretary_finance=person("secretary_finance", (Role.SECRETARY_GENERAL, cast.foundation),
                                 (Role.FINANCE, cast.foundation)),
    )


@pytest.fixture
def make_application(cast: Cast):
    """A complete, submittable draft of community A1 by `cast.applicant` (keyword arguments override)."""
    from .factories import ApplicationFactory

    def make(**overrides):
        overrides.setdefault("actor", cast.applicant)
        overrides.setdefault("category", cast.elder_care)
        return ApplicationFactory(**overrides)

    return make

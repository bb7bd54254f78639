"""Money fixtures: an empty fund of the cast's foundation, so that every yuan in a test is one it put there.

The cast's own fund already holds the founding donor's 10,000,000 yuan of pooled money, which would hide
whether restricted money is drawn first and when the money runs out. `money.fund` starts with no entry at
all; the cast's foundation staff (secretary-general, finance, ...) act on it as on any fund of theirs.
Applicants: `cast.applicant` and `cast.community_head` for A1, `money.applicant_a2` and `money.head_a2`
for A2 (both communities of street A, so the cast's street reviewer and leader review both).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from grants import services
from grants.models import Community, Donation, Fund, GrantApplication, Role, ServiceCategory
from grants.states import State
from tests.factories import ApplicationFactory, FundFactory, ServiceCategoryFactory, UserFactory
from tests.helpers import advance


@dataclass
class Money:
    """An empty fund with two categories, the people of community A2, and ways to fill and spend it."""

    cast: object
    fund: Fund
    elder_care: ServiceCategory
    children: ServiceCategory
    applicant_a2: object
    head_a2: object

    def __repr__(self) -> str:  # keeps pytest output short
        return f"Money({self.fund.code})"

    def use_schedule(self, template: str) -> None:
        """Pay the fund's grants by another tranche template (applies to approvals from now on)."""
        Fund.objects.filter(pk=self.fund.pk).update(tranche_template=template)
        self.fund.refresh_from_db()

    def donate(self, amount: Decimal | str, *, category: ServiceCategory | None = None,
               community: Community | None = None, on: dt.date | None = None) -> Donation:
        """Finance records a gift that has arrived (restricted when a category or community is given)."""
        return services.donation_record(
            actor=self.cast.finance, fund=self.fund, amount=Decimal(amount), donor_name="捐赠人",
            restricted_category=category, restricted_community=community,
            received_on=on or timezone.localdate())

    def actors(self, community: Community) -> dict[str, object]:
        """Who acts for the community at its own steps (advance()'s `actors`)."""
        if community.pk == self.cast.a1.pk:
            return {}
        return {State.DRAFT: self.applicant_a2, State.REVISION_REQUESTED: self.applicant_a2,
                State.COMMUNITY_CONFIRMATION: self.head_a2, State.IN_PROGRESS: self.applicant_a2,
                State.REPORT_RETURNED: self.applicant_a2}

    def applicant_of(self, application: GrantApplication):
        return self.cast.applicant if application.community_id == self.cast.a1.pk else self.applicant_a2

    def draft(self, amount: Decimal | str, *, category: ServiceCategory | None = None,
              community: Community | None = None, requested: Decimal | str | None = None) -> GrantApplication:
        community = community or self.cast.a1
        actor = self.cast.applicant if community.pk == self.cast.a1.pk else self.applicant_a2
        return ApplicationFactory(actor=actor, community=community, category=category or self.elder_care,
                                  requested_amount=Decimal(requested or amount))

    def walk(self, application: GrantApplication, to_state: str, *,
             amount: Decimal | str | None = None) -> GrantApplication:
        """advance() with the right people of the application's community."""
        community = Community.objects.get(pk=application.community_id)
        return advance(application, to_state, self.cast, actors=self.actors(community),
                       recommended_amount=Decimal(amount) if amount is not None else None)

    def at_approval(self, amount: Decimal | str, *, category: ServiceCategory | None = None,
                    community: Community | None = None,
                    requested: Decimal | str | None = None) -> GrantApplication:
        """An application recommended for `amount`, waiting for the secretary-general."""
        application = self.draft(amount, category=category, community=community, requested=requested)
        return self.walk(application, State.APPROVAL, amount=amount)

    def approve(self, application: GrantApplication, actor=None) -> GrantApplication:
        return services.application_approve(actor=actor or self.cast.secretary_general, application=application)

    def approved(self, amount: Decimal | str, **kwargs) -> GrantApplication:
        """An application approved for `amount` (in publicity; its money committed)."""
        return self.approve(self.at_approval(amount, **kwargs))


@pytest.fixture
def money(cast) -> Money:
    fund = FundFactory(foundation=cast.foundation, code="money", name=f"{cast.foundation.name}社区公益专项基金（测试）",
                       board_threshold=Decimal("100000.00"))
    return Money(
        cast=cast, fund=fund,
        elder_care=ServiceCategoryFactory(fund=fund, code="elder_care", name="敬老", name_en="elder care"),
        children=ServiceCategoryFactory(fund=fund, code="children", name="扶小", name_en="children"),
        applicant_a2=UserFactory(username="applicant_a2", roles=[(Role.APPLICANT, cast.a2)]),
        head_a2=UserFactory(username="head_a2", roles=[(Role.COMMUNITY_HEAD, cast.a2)]),
    )

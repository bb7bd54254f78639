"""Fixtures of the public page: grants at each public stage, seeded private data, and a fresh rate-limit cache.

What the public may see (grants.public.selectors): grants from publicity on (not withdrawn or rejected),
with community, category, amounts, dates, status and a closed project's results summary; donors by name
only when they agreed and are not anonymous. Everything in `SECRETS` is private and must never show.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from grants import services
from grants.models import CompletionReport, Donation, GrantApplication
from grants.services import BudgetLineData
from grants.states import State
from tests.helpers import advance, pay_payable_tranches

BENEFICIARY = "王秀英"  # a resident served by a project: never published
PHONE = "13800138000"
ANONYMOUS_DONOR = "钱隐名"
UNNAMED_DONOR = "李不署名"  # gave without agreeing to be named
THANKED_DONOR = "贵州泰禾安商贸有限公司"
OBJECTION_TEXT = "项目负责人与受益人王秀英是亲属"
RESULTS = "共开展助餐服务120次，服务老人45人。"
SECRETS = (BENEFICIARY, PHONE, ANONYMOUS_DONOR, UNNAMED_DONOR, "PRIVATE-NOTE", "BANK-")


@pytest.fixture(autouse=True)
def _fresh_rate_limits(settings):
    """Each test counts its own requests: a private in-process cache, whatever CACHE_URL says."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": f"public-tests-{uuid.uuid4()}"}}
    cache.clear()


@dataclass
class PublicGrants:
    """Applications of the cast at each stage that matters to the public page."""

    draft: GrantApplication
    rejected: GrantApplication
    withdrawn: GrantApplication
    publicity: GrantApplication
    objection: GrantApplication
    in_progress: GrantApplication
    cancelled: GrantApplication
    closed: GrantApplication

    @property
    def public(self) -> list[GrantApplication]:
        return [self.publicity, self.objection, self.in_progress, self.cancelled, self.closed]

    @property
    def hidden(self) -> list[GrantApplication]:
        return [self.draft, self.rejected, self.withdrawn]


@pytest.fixture
def grants(cast, make_application) -> PublicGrants:
    """One application per stage; private data (a beneficiary's name, a phone number) seeded where it may hide."""
    def make(title: str, **kwargs) -> GrantApplication:
        lines = [BudgetLineData("services", f"为{BENEFICIARY}提供上门服务", Decimal("30000.00")),
                 BudgetLineData("activities", "活动物料", Decimal("20000.00"))]
        return make_application(title=title, budget_lines=lines, **kwargs)

    # Walking past publicity fires every due publicity timer: the grants left in publicity come last.
    in_progress = advance(make("进行中的项目"), State.IN_PROGRESS, cast)
    pay_payable_tranches(in_progress, cast.finance)  # the first tranche, half of the grant
    closed = advance(make("已结项的项目"), State.CLOSED, cast)
    draft = make("草稿中的项目")
    rejected = advance(make("被驳回的项目"), State.STREET_REVIEW, cast)
    services.application_reject(actor=cast.street_reviewer, application=rejected, reason=f"{BENEFICIARY}不符合条件")
    withdrawn = advance(make("已撤回的项目"), State.PUBLICITY, cast)
    services.application_withdraw(actor=cast.applicant, application=withdrawn, reason=f"联系人电话{PHONE}")
    objection = advance(make("异议审查中的项目", category=cast.children), State.PUBLICITY, cast)
    services.objection_file(application=objection, text=OBJECTION_TEXT, contact=f"张先生 {PHONE}")
    objection.refresh_from_db()
    cancelled = advance(make("被取消的项目"), State.PUBLICITY, cast)
    services.objection_file(application=cancelled, text=OBJECTION_TEXT, contact=PHONE)
    cancelled.refresh_from_db()
    services.objection_decide(actor=cast.secretary_general, objection=cancelled.objections.get(), uphold=True,
                              reason=f"经核实，{BENEFICIARY}的情况属实")
    cancelled.refresh_from_db()
    publicity = advance(make("长者助餐公示项目"), State.PUBLICITY, cast)
    # The report was written on the way (tests.helpers.advance); private fields get private data.
    CompletionReport.objects.filter(application=closed).update(
        outcomes=f"服务{BENEFICIARY}等老人", public_summary=RESULTS,
        private_notes=f"PRIVATE-NOTE {BENEFICIARY} {PHONE}")
    return PublicGrants(draft=draft, rejected=rejected, withdrawn=withdrawn, publicity=publicity,
                        objection=objection, in_progress=in_progress, cancelled=cancelled, closed=closed)


@dataclass
class Gifts:
    thanked: Donation
    unnamed: Donation
    anonymous: Donation


@pytest.fixture
def gifts(cast) -> Gifts:
    """A donor who may be thanked, one who did not agree, and an anonymous one with a phone number on record."""
    today = timezone.localdate()

    def gift(name: str, amount: str, **kwargs) -> Donation:
        return services.donation_record(actor=cast.finance, fund=cast.fund, amount=amount, donor_name=name,
                                        received_on=today, **kwargs)

    return Gifts(
        thanked=gift(THANKED_DONOR, "20000.00", donor_kind="company", public_acknowledgement=True),
        unnamed=gift(UNNAMED_DONOR, "300.00", bank_reference="BANK-UNNAMED"),
        anonymous=gift(f"{ANONYMOUS_DONOR} {PHONE}", "888.00", is_anonymous=True, purpose=f"电话{PHONE}",
                       bank_reference="BANK-ANON"),
    )


def page_text(response) -> str:
    """The whole body of a response, streamed or not."""
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8-sig")
    return response.content.decode()

"""factory_boy factories: organisations, people with their role memberships, and complete draft applications."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from grants.models import (
    Community,
    Foundation,
    Fund,
    GrantApplication,
    Membership,
    Role,
    ServiceCategory,
    StreetOffice,
)
from grants.models.organisations import COMMUNITY_ROLES, STREET_ROLES
from grants.services import BeneficiaryData, BudgetLineData, application_create, attachment_add

User = get_user_model()


class FoundationFactory(DjangoModelFactory):
    class Meta:
        model = Foundation

    name = factory.Sequence(lambda n: f"贵州省红十字基金会{n or ''}")
    short_name = "红十字基金会"


class FundFactory(DjangoModelFactory):
    class Meta:
        model = Fund

    foundation = factory.SubFactory(FoundationFactory)
    # A special fund is no legal person: its name carries the foundation's full name (Fund.clean).
    name = factory.LazyAttribute(lambda o: f"{o.foundation.name}社区公益专项基金")
    code = factory.Sequence(lambda n: f"fund{n}")
    board_threshold = Decimal("100000.00")
    publicity_working_days = 5

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        fund = model_class(*args, **kwargs)
        fund.full_clean()
        fund.save()
        return fund


class StreetOfficeFactory(DjangoModelFactory):
    class Meta:
        model = StreetOffice

    name = factory.Sequence(lambda n: f"街道{n}")
    district = "观山湖区"
    city = "贵阳市"


class CommunityFactory(DjangoModelFactory):
    class Meta:
        model = Community

    street_office = factory.SubFactory(StreetOfficeFactory)
    name = factory.Sequence(lambda n: f"社区{n}")
    is_example = True


class ServiceCategoryFactory(DjangoModelFactory):
    class Meta:
        model = ServiceCategory

    fund = factory.SubFactory(FundFactory)
    code = factory.Sequence(lambda n: f"category{n}")
    name = factory.Sequence(lambda n: f"类别{n}")
    name_en = factory.Sequence(lambda n: f"category {n}")
    is_active = True


def membership_for(user, role: Role, organisation) -> Membership:
    """Give `user` the role in `organisation` (a community, street office or foundation, as the role needs)."""
    field = ("community" if role in COMMUNITY_ROLES
             else "street_office" if role in STREET_ROLES else "foundation")
    membership = Membership(user=user, role=role, **{field: organisation})
    membership.full_clean()
    membership.save()
    return membership


class UserFactory(DjangoModelFactory):
    """A person; `roles=[(Role.X, organisation), ...]` gives them memberships."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    # "!" marks an unusable password: no hashing cost, and nobody can log in with it by accident.
    password = "!"

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role, organisation in extracted or ():
            membership_for(self, role, organisation)


def upload(kind: str = "application_form") -> SimpleUploadedFile:
    return SimpleUploadedFile(f"{kind}.pdf", b"%PDF-1.4 test document", content_type="application/pdf")


def balanced_lines(amount: Decimal) -> list[BudgetLineData]:
    """Two budget lines that add up to `amount` exactly."""
    first = (amount * Decimal("0.6")).quantize(Decimal("0.01"))
    lines = [BudgetLineData("services", "社工服务", first)]
    if amount - first > 0:
        lines.append(BudgetLineData("activities", "活动物料", amount - first))
    return lines


class ApplicationFactory(factory.Factory):
    """A complete, submittable draft made by the real services (application_create + attachment_add).

    `actor` (an applicant of the community) and `category` are required.
    """

    class Meta:
        model = GrantApplication

    actor = None
    community = factory.LazyAttribute(
        lambda o: Membership.objects.filter(user=o.actor, role=Role.APPLICANT).first().community)
    category = None
    title = factory.Sequence(lambda n: f"长者助餐与探访项目 {n}")
    summary = "为社区独居老人提供助餐、探访和健康讲座。"
    start_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=30))
    end_date = factory.LazyAttribute(lambda o: o.start_date + dt.timedelta(days=90))
    requested_amount = Decimal("50000.00")
    budget_lines = factory.LazyAttribute(lambda o: balanced_lines(Decimal(o.requested_amount)))
    beneficiaries = factory.LazyFunction(lambda: [BeneficiaryData("elderly", 120)])
    documents = ("application_form",)

    @classmethod
    def _build(cls, model_class, *args, **kwargs):
        raise NotImplementedError("Applications are only made through the services: use create().")

    @classmethod
    def _create(cls, model_class, *args, documents=(), **kwargs):
        application = application_create(**kwargs)
        for kind in documents:
            attachment_add(actor=kwargs["actor"], application=application, kind=kind, file=upload(kind))
        return application

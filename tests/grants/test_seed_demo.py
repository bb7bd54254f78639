"""`seed_demo` creates the pilot's demo data once; running it again adds nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from grants.models import (
    Attachment,
    AuditEntry,
    Community,
    Foundation,
    Fund,
    GrantApplication,
    Membership,
    Role,
    ServiceCategory,
    StreetOffice,
)

DEMO_USERS = ("applicant", "community_head", "street_reviewer", "street_leader", "programme_officer",
              "secretary_general", "board_member", "finance", "auditor")


def _counts() -> dict[str, int]:
    models = (get_user_model(), Membership, Foundation, Fund, StreetOffice, Community, ServiceCategory,
              GrantApplication, AuditEntry, Attachment)
    return {model._meta.label: model.objects.count() for model in models}


@pytest.fixture
def demo_settings(settings, tmp_path):
    settings.DEMO_PASSWORD = "a-demo-password-for-tests"
    # Hashing the demo passwords is not what this test is about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


def test_seed_demo_twice_creates_everything_once(demo_settings, db):
    call_command("seed_demo", verbosity=0)
    first = _counts()
    call_command("seed_demo", verbosity=0)
    assert _counts() == first

    assert first["grants.GrantApplication"] > 0
    foundation = Foundation.objects.get(name="贵州省红十字基金会")
    fund = Fund.objects.get(foundation=foundation)
    assert foundation.name in fund.name
    street = StreetOffice.objects.get(name="云潭街道")
    assert {"宇虹社区", "阅湖社区"} <= set(street.communities.values_list("name", flat=True))
    assert ServiceCategory.objects.filter(fund=fund).count() >= 7
    users = get_user_model().objects.filter(username__in=DEMO_USERS)
    assert set(users.values_list("username", flat=True)) == set(DEMO_USERS)
    held = set(Membership.objects.filter(user__in=users).values_list("role", flat=True))
    assert held == set(Role.values)
    assert authenticate(username="applicant", password=demo_settings.DEMO_PASSWORD) is not None

"""Fixtures of the web tests: a logged-in test client per person, and the checks every step repeats.

Besides the shared cast (tests/conftest.py) these tests need people who can *see* an application of
community A1 but hold the deciding role somewhere else, so that a refusal is a 403, not a 404:

    second_street_reviewer  another reviewer of street A (a returned application must not go to them)
    reviewer_b_auditor      reviewer of street B and the foundation's auditor: sees every non-draft
    head_a2_applicant_a1    head of community A2 and applicant of A1: sees A1's applications
    head_a2                 head of community A2 only: sees nothing of A1
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from viewflow.workflow.nodes import View

from grants.models import GrantApplication, Role
from grants.states import FINAL_STATES
from tests.factories import UserFactory
from tests.helpers import audit_trail
from workflows.flows import GrantFlow
from workflows.selectors import tasks_of_application


@dataclass
class WebCast:
    second_street_reviewer: Any
    reviewer_b_auditor: Any
    head_a2_applicant_a1: Any
    head_a2: Any


@pytest.fixture
def web_cast(cast) -> WebCast:
    def person(username: str, *roles):
        return UserFactory(username=username, roles=roles)

    return WebCast(
        second_street_reviewer=person("second_street_reviewer", (Role.STREET_REVIEWER, cast.street_a)),
        reviewer_b_auditor=person("reviewer_b_auditor", (Role.STREET_REVIEWER, cast.street_b),
                                  (Role.AUDITOR, cast.foundation)),
        head_a2_applicant_a1=person("head_a2_applicant_a1", (Role.COMMUNITY_HEAD, cast.a2),
                                    (Role.APPLICANT, cast.a1)),
        head_a2=person("head_a2", (Role.COMMUNITY_HEAD, cast.a2)),
    )


@pytest.fixture
def browser(db) -> Callable[[Any], Client]:
    """A logged-in test client for a person (one per person, kept for the test)."""
    clients: dict[int, Client] = {}

    def of(user) -> Client:
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)
        return clients[user.pk]

    return of


def fresh(application: GrantApplication) -> GrantApplication:
    """The application as stored now (refresh_from_db would trip over the protected state field)."""
    return GrantApplication.objects.get(pk=application.pk)


def open_tasks(application: GrantApplication) -> list[tuple[str, str | None]]:
    """(node, owner username) of each open human task."""
    return [(task.flow_task.name, task.owner.username if task.owner else None)
            for task in tasks_of_application(application.pk)]


def assert_tasks_follow_state(application: GrantApplication) -> None:
    """The invariant: one open human task at the node named like the state, none in final states."""
    application = fresh(application)
    names = [name for name, _owner in open_tasks(application)]
    node = getattr(GrantFlow, application.status, None)
    if application.status in FINAL_STATES or not isinstance(node, View):
        assert names == [], f"{application.status}: open tasks {names}"
    else:
        assert names == [application.status], f"{application.status}: open tasks {names}"


def expect(application: GrantApplication, state: str, tasks: list[tuple[str, str | None]],
           last_audit: tuple[str, str, str, str | None] | None) -> GrantApplication:
    """Check the state, the open tasks and the newest audit row after a step; returns the fresh application."""
    application = fresh(application)
    assert application.status == state
    assert open_tasks(application) == tasks
    trail = audit_trail(application)
    assert (trail[-1] if trail else None) == last_audit
    assert_tasks_follow_state(application)
    return application


def act(client: Client, application: GrantApplication, action: str, **data: Any) -> Any:
    """POST one action's form as a person would, and expect the redirect of a success."""
    response = client.post(reverse("application_action", args=[application.pk, action]), data)
    assert response.status_code == 302, (response.status_code, refusal(response))
    return response


def refusal(response: Any) -> str:
    """The refusal a page shows (its error boxes), to make a failed assertion readable."""
    text = response.content.decode()
    found = re.findall(r'class="(?:errorlist[^"]*|alert alert-error)"[^>]*>(.*?)</(?:ul|div)>', text, re.S)
    return " | ".join(re.sub(r"<[^>]+>", " ", chunk).strip() for chunk in found) or text[-2000:]


def upload(name: str = "申请书.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 application form", content_type="application/pdf")


def draft_data(cast, *, title: str = "宇虹社区长者助餐", amount: Decimal = Decimal("50000.00"),
               lines: tuple[tuple[str, str, str], ...] | None = None, community=None,
               document: bool = True) -> dict[str, Any]:
    """The POST of the application form: fields, two budget lines, one beneficiary group, one document."""
    start = dt.date.today() + dt.timedelta(days=30)
    if lines is None:
        first = (amount * Decimal("0.6")).quantize(Decimal("0.01"))
        lines = (("services", "社工服务", str(first)), ("activities", "活动物料", str(amount - first)))
    data: dict[str, Any] = {
        "community": (community or cast.a1).pk, "title": title, "category": cast.elder_care.pk,
        "summary": "为社区独居老人提供助餐和探访。", "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=90)).isoformat(), "requested_amount": str(amount),
        "budget-TOTAL_FORMS": str(len(lines)), "budget-INITIAL_FORMS": "0",
        "beneficiaries-TOTAL_FORMS": "1", "beneficiaries-INITIAL_FORMS": "0",
        "beneficiaries-0-kind": "elderly", "beneficiaries-0-planned_count": "120",
        "documents-TOTAL_FORMS": "1", "documents-INITIAL_FORMS": "0",
    }
    for n, (category, description, line_amount) in enumerate(lines):
        data.update({f"budget-{n}-category": category, f"budget-{n}-description": description,
                     f"budget-{n}-amount": line_amount})
    if document:
        data.update({"documents-0-kind": "application_form", "documents-0-file": upload()})
    return data


def create_draft(client: Client, cast, **kwargs: Any) -> GrantApplication:
    """Draft an application through the "New application" page."""
    response = client.post(reverse("application_create"), draft_data(cast, **kwargs))
    assert response.status_code == 302, refusal(response)
    return GrantApplication.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[-1]))

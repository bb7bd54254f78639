"""One application from draft to signed agreement through the API only, each person with their own token.

After every step: the application's state as the API reports it, and that `tasks/` offers the next step
to the person who decides it (and to nobody who already acted). Only the end of publicity is not an HTTP
call: it is the system's timer (fired as beat fires it), not a person's action.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from grants.states import State
from tests.helpers import end_publicity_by_timer

pytestmark = pytest.mark.django_db
API = "/api/v1"


def login(username: str, password: str) -> APIClient:
    """A partner platform's client: a token from the username and password, sent with every request."""
    anonymous = APIClient()
    response = anonymous.post(f"{API}/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def state_of(client: APIClient, pk: int) -> str:
    response = client.get(f"{API}/applications/{pk}/")
    assert response.status_code == 200, response.content
    return response.json()["state"]


def tasks_of(client: APIClient, pk: int, box: str | None = None) -> list[dict[str, Any]]:
    """The caller's open tasks of application `pk` (inbox and queue, or one of them)."""
    response = client.get(f"{API}/tasks/", {"box": box} if box else {})
    assert response.status_code == 200, response.content
    return [row for row in response.json()["results"] if row["application"]["id"] == pk]


def decide(client: APIClient, pk: int, action: str, expect: str, **inputs: Any) -> dict[str, Any]:
    """Check the action is on offer, take it, and check the state it leads to."""
    offered = client.get(f"{API}/applications/{pk}/actions/")
    assert offered.status_code == 200, offered.content
    assert action in [row["name"] for row in offered.json()], offered.json()
    response = client.post(f"{API}/applications/{pk}/actions/{action}/", inputs, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == expect
    return response.json()


def test_application_from_draft_to_agreement_through_the_api(cast, passwords):
    people = {name: login(name, passwords) for name in (
        "applicant", "community_head", "street_reviewer", "street_leader", "programme_officer",
        "secretary_general", "finance", "other_street_reviewer")}
    applicant = people["applicant"]
    start = timezone.localdate() + dt.timedelta(days=30)

    # 1. The applicant drafts, corrects the title, and attaches the required application form.
    response = applicant.post(f"{API}/applications/", {
        "community": cast.a1.pk, "category": cast.elder_care.pk, "title": "宇虹社区长者助餐（草稿）",
        "summary": "为社区独居老人提供助餐和探访。", "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=90)).isoformat(), "requested_amount": "50000.00",
        "budget_lines": [{"category": "services", "description": "社工服务", "amount": "30000.00"},
                         {"category": "activities", "description": "活动物料", "amount": "20000.00"}],
        "beneficiary_groups": [{"kind": "elderly", "planned_count": 120}],
    }, format="json")
    assert response.status_code == 201, response.content
    draft = response.json()
    pk = draft["id"]
    assert draft["state"] == State.DRAFT and draft["editable"] is True
    assert [line["amount"] for line in draft["budget_lines"]] == ["30000.00", "20000.00"]
    assert draft["beneficiary_groups"] == [{"kind": "elderly", "planned_count": 120}]

    response = applicant.patch(f"{API}/applications/{pk}/", {"title": "宇虹社区长者助餐"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "宇虹社区长者助餐"
    form = SimpleUploadedFile("申请书.pdf", b"%PDF-1.4 application form", content_type="application/pdf")
    response = applicant.post(f"{API}/applications/{pk}/attachments/", {"kind": "application_form", "file": form},
                              format="multipart")
    assert response.status_code == 201, response.content
    assert response.json()["original_name"] == "申请书.pdf"
    assert [row["kind"] for row in applicant.get(f"{API}/applications/{pk}/attachments/").json()] == [
        "application_form"]
    # Nobody outside the community sees a draft, not even by id.
    assert people["street_reviewer"].get(f"{API}/applications/{pk}/").status_code == 404

    # 2. Submitted: the community head's queue offers the confirmation; they take it and confirm.
    decide(applicant, pk, "submit", State.COMMUNITY_CONFIRMATION)
    assert tasks_of(applicant, pk) == []
    [task] = tasks_of(people["community_head"], pk, "queue")
    assert (task["step"], task["box"], task["owner"]) == ("community_confirmation", "queue", None)
    assert task["application"]["state"] == State.COMMUNITY_CONFIRMATION
    response = people["community_head"].post(f"{API}/tasks/{task['id']}/claim/")
    assert response.status_code == 200, response.content
    assert (response.json()["box"], response.json()["owner"]) == ("inbox", "community_head")
    assert [t["step"] for t in tasks_of(people["community_head"], pk, "inbox")] == ["community_confirmation"]
    decide(people["community_head"], pk, "confirm", State.STREET_REVIEW)
    assert tasks_of(people["community_head"], pk) == []

    # 3. The street: its reviewer passes it, its leader signs off; the other street never sees it.
    assert [t["step"] for t in tasks_of(people["street_reviewer"], pk)] == ["street_review"]
    assert people["other_street_reviewer"].get(f"{API}/applications/{pk}/").status_code == 404
    assert tasks_of(people["other_street_reviewer"], pk) == []
    decide(people["street_reviewer"], pk, "street_approve", State.STREET_SIGNOFF, comment="材料齐全")
    assert tasks_of(people["street_reviewer"], pk) == []
    assert [t["step"] for t in tasks_of(people["street_leader"], pk)] == ["street_signoff"]
    decide(people["street_leader"], pk, "street_sign_off", State.FOUNDATION_REVIEW)

    # 4. The foundation: the programme officer scores and recommends (the action declares its inputs) ...
    officer = people["programme_officer"]
    assert [t["step"] for t in tasks_of(officer, pk)] == ["foundation_review"]
    offered = {row["name"]: row for row in officer.get(f"{API}/applications/{pk}/actions/").json()}
    inputs = {row["name"]: (row["kind"], row["required"]) for row in offered["foundation_recommend"]["inputs"]}
    assert inputs["score"] == ("integer", True) and inputs["recommended_amount"] == ("money", True)
    recommended = decide(officer, pk, "foundation_recommend", State.APPROVAL, score=86,
                         recommended_amount="48000.00", conditions="按月报送进展",
                         expected_state=State.FOUNDATION_REVIEW)
    assert (recommended["score"], recommended["approved_amount"]) == (86, "48000.00")

    # ... and the secretary-general approves: the grant goes public and the money is committed.
    secretary = people["secretary_general"]
    assert [t["step"] for t in tasks_of(secretary, pk)] == ["approval"]
    approved = decide(secretary, pk, "approve", State.PUBLICITY)
    assert approved["publicity_ends_on"] is not None
    statement = people["finance"].get(f"{API}/funds/{cast.fund.pk}/statement/").json()
    assert statement["movements"]["committed_total"] == "48000.00"
    assert [e["kind"] for e in statement["entries"]["results"]][-1] == "commitment"

    # 5. Publicity runs out (the system's timer) and the secretary-general signs the agreement.
    from grants.models import GrantApplication

    end_publicity_by_timer(GrantApplication.objects.get(pk=pk))
    assert state_of(secretary, pk) == State.AGREEMENT
    assert [t["step"] for t in tasks_of(secretary, pk)] == ["agreement"]
    signed = decide(secretary, pk, "sign_agreement", State.IN_PROGRESS)
    assert signed["agreement_signed_at"] is not None
    assert tasks_of(secretary, pk) == []
    assert [t["step"] for t in tasks_of(applicant, pk)] == ["in_progress"]
    assert state_of(applicant, pk) == State.IN_PROGRESS

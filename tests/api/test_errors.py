"""Every error is JSON {code, message, field}: 400 with the field at fault, 401, 403, 404, 405, 409; never 500.

Messages are translated for the caller (Simplified Chinese by default, English on request), so they are
compared with the same text under translation.override, never with English literals.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.utils import timezone, translation

from grants import services
from grants.models import GrantApplication, Role
from grants.services.transitions import transition_denial
from grants.states import State
from tests.factories import UserFactory, upload
from tests.helpers import advance, snapshot

from .conftest import assert_error

pytestmark = pytest.mark.django_db
API = "/api/v1"


def take(client, application, action: str, **data):
    return client.post(f"{API}/applications/{application.pk}/actions/{action}/", data, format="json")


def draft_payload(cast, **changes):
    start = timezone.localdate() + dt.timedelta(days=30)
    return {"community": cast.a1.pk, "category": cast.elder_care.pk, "title": "长者助餐", "summary": "助餐和探访。",
            "start_date": start.isoformat(), "end_date": (start + dt.timedelta(days=60)).isoformat(),
            "requested_amount": "30000.00",
            "budget_lines": [{"category": "services", "description": "社工服务", "amount": "30000.00"}],
            "beneficiary_groups": [{"kind": "elderly", "planned_count": 40}], **changes}


# --- 403 ---------------------------------------------------------------------------------------------------


def test_an_action_that_is_not_the_callers_is_403_with_the_reason_in_their_language(api, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    before = snapshot(application)

    response = take(api(cast.auditor), application, "street_approve", comment="看过了")

    body = assert_error(response, 403, "forbidden")
    with translation.override("zh-hans"):
        assert body["message"] == transition_denial(application, "street_approve", cast.auditor)
    english = api(cast.auditor).post(f"{API}/applications/{application.pk}/actions/street_approve/", {},
                                     format="json", HTTP_ACCEPT_LANGUAGE="en")
    with translation.override("en"):
        assert english.json()["message"] == transition_denial(application, "street_approve", cast.auditor)
    assert english.json()["message"] != body["message"]
    assert snapshot(application) == before


def test_drafting_for_another_community_is_403(api, cast):
    assert_error(api(cast.applicant_b).post(f"{API}/applications/", draft_payload(cast), format="json"), 403,
                 "forbidden")
    assert not GrantApplication.objects.exists()


# --- 409 ---------------------------------------------------------------------------------------------------


def test_an_action_on_a_state_the_caller_no_longer_sees_is_409_stale_state(api, cast, make_application):
    application = advance(make_application(), State.STREET_REVIEW, cast)
    before = snapshot(application)

    response = take(api(cast.street_reviewer), application, "street_approve", expected_state=State.DRAFT)

    assert_error(response, 409, "stale_state", "expected_state")
    assert snapshot(application) == before
    ok = take(api(cast.street_reviewer), application, "street_approve", expected_state=State.STREET_REVIEW)
    assert ok.status_code == 200 and ok.json()["state"] == State.STREET_SIGNOFF


def test_approving_more_than_the_fund_has_is_409_insufficient_funds(api, cast, make_application):
    application = advance(make_application(requested_amount=Decimal("20000000.00")), State.BOARD_APPROVAL, cast)
    before = snapshot(application)

    response = take(api(cast.board_member), application, "board_approve", minutes="理事会第5次会议纪要")

    assert_error(response, 409, "insufficient_funds")
    assert snapshot(application) == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_decision_that_lost_a_race_is_409_concurrent_change(api, cast, make_application):
    """Another reviewer's return is saved, uncommitted, while this request decides; it commits once this
    request waits for the row: the request finds the application changed under it."""
    application = advance(make_application(), State.STREET_REVIEW, cast)
    second = UserFactory(username="street_reviewer_2", roles=[(Role.STREET_REVIEWER, cast.street_a)])
    saved, problems = threading.Event(), []

    def return_it_and_commit_once_the_request_waits() -> None:
        try:
            with transaction.atomic():
                services.application_return(actor=second, application=GrantApplication.objects.get(pk=application.pk),
                                            reason="请补充预算明细")
                saved.set()
                for _ in range(400):  # up to 20 s: until another session waits for a lock we hold
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database() AND pid <> pg_backend_pid()")
                        if cursor.fetchone()[0]:
                            break
                    threading.Event().wait(0.05)
                else:
                    problems.append("the request never waited for the row")
        except Exception as exc:  # reported by the assertion below
            problems.append(repr(exc))
            saved.set()
        finally:
            connection.close()

    other = threading.Thread(target=return_it_and_commit_once_the_request_waits)
    other.start()
    assert saved.wait(20)
    response = take(api(cast.street_reviewer), application, "street_approve")
    other.join(30)

    assert problems == []
    assert_error(response, 409, "concurrent_change")
    assert GrantApplication.objects.get(pk=application.pk).status == State.REVISION_REQUESTED


# --- 400 with the field at fault ----------------------------------------------------------------------------


def test_a_missing_input_of_an_action_is_400_naming_it(api, cast, make_application):
    application = advance(make_application(), State.FOUNDATION_REVIEW, cast)
    response = take(api(cast.programme_officer), application, "foundation_recommend", recommended_amount="100.00")
    assert_error(response, 400, "required", "score")
    response = take(api(cast.programme_officer), application, "foundation_recommend", score=101,
                    recommended_amount="100.00")
    assert_error(response, 400, "max_value", "score")
    response = take(api(cast.programme_officer), application, "foundation_recommend", score=80,
                    recommended_amount="1.005")
    assert_error(response, 400, "max_decimal_places", "recommended_amount")


@pytest.mark.parametrize(("changes", "code", "field"), [
    ({"end_date": "2020-01-01", "start_date": "2020-02-01"}, "invalid", "end_date"),
    ({"start_date": "1.1.2020"}, "invalid", "start_date"),
    ({"category": "closed"}, "category_closed", "category"),
    ({"category": 987654}, "does_not_exist", "category"),
    ({"budget_lines": [{"category": "services", "description": "x", "amount": "12.5"},
                       {"category": "nonsense", "description": "y", "amount": "abc"}]}, "invalid_choice",
     "budget_lines.1.category"),
    ({"beneficiary_groups": [{"kind": "elderly", "planned_count": 1}, {"kind": "elderly", "planned_count": 2}]},
     "invalid", "beneficiary_groups"),
    ({"title": ""}, "blank", "title"),
    ({"requested_amount": "-5"}, "min_value", "requested_amount"),
])
def test_a_bad_draft_is_400_naming_the_field(api, cast, changes, code, field):
    if changes.get("category") == "closed":
        changes["category"] = cast.closed_category.pk
    response = api(cast.applicant).post(f"{API}/applications/", draft_payload(cast, **changes), format="json")
    assert_error(response, 400, code, field)
    assert not GrantApplication.objects.exists()


def test_several_bad_fields_are_all_listed(api, cast):
    response = api(cast.applicant).post(f"{API}/applications/", {"title": ""}, format="json")
    body = assert_error(response, 400, response.json()["code"], response.json()["field"])
    fields = {problem["field"] for problem in body["errors"]}
    assert {"title", "summary", "community", "category", "start_date", "end_date", "requested_amount"} <= fields


def test_editing_a_submitted_application_is_400_not_editable(api, cast, make_application):
    application = advance(make_application(), State.COMMUNITY_CONFIRMATION, cast)
    response = api(cast.applicant).patch(f"{API}/applications/{application.pk}/", {"title": "新标题"}, format="json")
    assert_error(response, 400, "not_editable")


def test_a_document_of_an_unknown_kind_is_400(api, cast, make_application):
    application = make_application()
    response = api(cast.applicant).post(f"{API}/applications/{application.pk}/attachments/",
                                        {"kind": "selfie", "file": upload()}, format="multipart")
    assert_error(response, 400, "invalid_choice", "kind")


@pytest.mark.parametrize(("url", "params", "code", "field"), [
    ("applications/", {"state": "nonsense"}, "invalid_choice", "state"),
    ("applications/", {"community": "abc"}, "invalid", "community"),
    ("applications/", {"created_from": "yesterday"}, "invalid", "created_from"),
    ("applications/", {"submitted_to": ""}, "blank", "submitted_to"),
    ("applications/", {"created_to": "0001-01-01"}, "min_value", "created_to"),
    ("applications/", {"page_size": "0"}, "invalid", "page_size"),
    ("tasks/", {"box": "outbox"}, "invalid_choice", "box"),
    ("funds/{fund}/statement/", {"start": "2026-03-01", "end": "2026-02-01"}, "period_reversed", "end"),
    ("funds/{fund}/statement/", {"end": "9999-12-31"}, "max_value", "end"),
])
def test_bad_query_parameters_are_400_naming_them(api, cast, url, params, code, field):
    response = api(cast.finance).get(f"{API}/{url.format(fund=cast.fund.pk)}", params)
    assert_error(response, 400, code, field)


def test_an_unreadable_cursor_is_404(api, cast):
    assert_error(api(cast.applicant).get(f"{API}/applications/", {"cursor": "not-a-cursor"}), 404, "not_found")


# --- Other statuses, all JSON ------------------------------------------------------------------------------


def test_malformed_json_unknown_addresses_and_methods_get_json_errors(api, cast, make_application):
    client = api(cast.applicant)
    application = make_application()
    assert_error(client.generic("POST", f"{API}/applications/", "{not json", content_type="application/json"), 400,
                 "parse_error")
    assert_error(client.post(f"{API}/applications/", "title=x", content_type="text/plain"), 415,
                 "unsupported_media_type")
    assert_error(take(client, application, "fly_to_the_moon"), 404, "not_found")
    assert_error(client.get(f"{API}/no/such/thing/"), 404, "not_found")
    assert_error(client.post(f"{API}/no/such/thing/"), 404, "not_found")
    assert_error(client.put(f"{API}/applications/{application.pk}/", {}, format="json"), 405, "method_not_allowed")
    assert_error(client.get(f"{API}/applications/99999999999999999999999/"), 404, "not_found")


def test_wrong_credentials(api, cast, passwords):
    response = api(None).post(f"{API}/auth/token/", {"username": "applicant", "password": "wrong"}, format="json")
    assert_error(response, 400, "authorization")
    bad_token = api(None)
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(bad_token.get(f"{API}/applications/"), 401, "authentication_failed")


def test_password_guessing_for_one_account_is_throttled(api, passwords, settings):
    """After API_TOKEN_RATE attempts for one username, further ones get 429, while other accounts still work."""
    anonymous = api(None)
    for _attempt in range(10):
        response = anonymous.post(f"{API}/auth/token/", {"username": "applicant", "password": "wrong"},
                                  format="json")
        assert response.status_code == 400
    response = anonymous.post(f"{API}/auth/token/", {"username": "applicant", "password": passwords}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    response = anonymous.post(f"{API}/auth/token/", {"username": "finance", "password": passwords}, format="json")
    assert response.status_code == 200 and response.json()["token"]

"""Schemathesis against /api/v1/schema/, in process: no 5xx, and every response as the schema says.

Generated requests (valid and invalid) go to every operation as two callers: an applicant (who may draft)
and the programme officer (who sees every submitted application and the fund). Path ids are steered to
rows that exist half the time, so the actions, documents and statement are reached, not only 404s.
Bounded (max_examples per operation, derandomized) so that it runs in CI on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from grants.states import State
from tests.helpers import advance
from workflows.selectors import tasks_of_application

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]


# Loaded once, when the tests are collected: the schema view touches no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
CALLERS = ("applicant", "programme_officer")


@dataclass
class Run:
    """What the running test seeded (ids that exist) and how many cases it has sent."""

    known_ids: list[int] = field(default_factory=list)
    sent: itertools.count = field(default_factory=itertools.count)


RUN = Run()


@schema.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Even generated ids become ids that exist; odd ones stay as generated (mostly 404s)."""
    generated = (path_parameters or {}).get("id")
    if RUN.known_ids and isinstance(generated, int) and generated % 2 == 0:
        path_parameters["id"] = RUN.known_ids[(generated // 2) % len(RUN.known_ids)]
    return path_parameters


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes "old" connections around each request, which would end the test's transaction
    on PostgreSQL; Django's own test client switches that off in the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(autouse=True)
def seeded(cast, make_application):
    """Applications in several states, the fund and an open task, for the generated ids to hit."""
    applications = [make_application()]
    for state in (State.COMMUNITY_CONFIRMATION, State.STREET_REVIEW, State.FOUNDATION_REVIEW, State.APPROVAL):
        applications.append(advance(make_application(), state, cast))
    tasks = [task.pk for task in tasks_of_application(applications[-1].pk)]
    RUN.known_ids, RUN.sent = [a.pk for a in applications] + [cast.fund.pk] + tasks, itertools.count()
    yield
    RUN.known_ids = []


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_answers_as_its_schema_says(case, cast):
    # Cases go alternately to an applicant (who drafts and sees their community's drafts) and to the
    # programme officer (who sees every submitted application and the fund): one run covers both.
    caller = CALLERS[next(RUN.sent) % len(CALLERS)]
    token, _created = Token.objects.get_or_create(user=getattr(cast, caller))
    case.call_and_validate(headers={"Authorization": f"Token {token.key}"}, checks=CHECKS)

"""The grant flow's own node classes (workflows.nodes) leave the same rows as viewflow's, in fewer statements."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from viewflow.workflow.context import Context
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from grants import services
from grants.calendar import add_working_days
from grants.states import State
from tests.workflows.test_flow_timers import SHANGHAI, at, to_street_review
from workflows.flows import GrantFlow
from workflows.models import GrantTask
from workflows.nodes import RoutingActivation

pytestmark = pytest.mark.django_db


def timers_of(task: Task) -> dict[str, Task]:
    following = Task.objects.filter(previous=task).order_by("pk")  # its timers and the gateway after it
    return {t.flow_task.name: t for t in following if t.flow_task.name.startswith(f"{task.flow_task.name}__")}


def the_task(application, step: str) -> Task:
    return Task.objects.get(process__grantprocess__application=application, flow_task=getattr(GrantFlow, step))


def test_a_new_task_has_both_timers_armed_with_their_working_day_due_moments(cast):
    with time_machine.travel(at(2026, 9, 28, 10), tick=False):  # Monday before the National Day holiday
        application = to_street_review(cast)
    task = the_task(application, "street_review")
    timers = timers_of(task)
    assert sorted(timers) == ["street_review__timeout", "street_review__timeout_2"]
    fund = application.fund
    for name, days in (("street_review__timeout", fund.service_time_working_days),
                       ("street_review__timeout_2", fund.escalation_working_days)):
        timer = timers[name]
        assert timer.status == STATUS.SCHEDULED
        expected_day = add_working_days(dt.date(2026, 9, 28), days)
        assert timer.scheduled.astimezone(SHANGHAI) == at(expected_day.year, expected_day.month, expected_day.day, 10)


def test_finishing_a_task_disarms_its_timers_only(cast):
    application = to_street_review(cast)
    confirmation = the_task(application, "community_confirmation")
    review = the_task(application, "street_review")
    assert {t.status for t in timers_of(confirmation).values()} == {STATUS.CANCELED}
    assert all(t.finished is not None for t in timers_of(confirmation).values())

    services.application_street_approve(actor=cast.street_reviewer, application=application)

    review.refresh_from_db()
    assert review.status == STATUS.DONE and review.owner == cast.street_reviewer
    assert {t.status for t in timers_of(review).values()} == {STATUS.CANCELED}
    signoff = the_task(application, "street_signoff")
    assert signoff.status == STATUS.NEW
    assert {t.status for t in timers_of(signoff).values()} == {STATUS.SCHEDULED}


def test_an_offered_task_is_claimed_and_finished_in_one_write(cast):
    application = to_street_review(cast)
    review = the_task(application, "street_review")
    with CaptureQueriesContext(connection) as queries:
        services.application_street_approve(actor=cast.street_reviewer, application=application)
    updates_of_the_task = [q for q in queries.captured_queries
                           if q["sql"].startswith('UPDATE "viewflow_task"') and f'"id" = {review.pk}' in q["sql"]]
    assert len(updates_of_the_task) == 1
    review.refresh_from_db()
    assert (review.status, review.owner, review.started is not None) == (STATUS.DONE, cast.street_reviewer, True)


class _Draft:
    status = State.DRAFT  # no case of the street gateway routes a draft


def _street_gateway(application) -> RoutingActivation:
    review = the_task(application, "street_review")
    gateway = Task.objects.create(process=review.process, flow_task=GrantFlow.after_street_review,
                                  token=review.token)
    activation = RoutingActivation(gateway)
    activation.process.current_application = _Draft  # what the gateway's conditions read
    return activation


def test_a_gateway_without_a_matching_case_is_an_error_raised_in_a_persons_transaction(cast):
    activation = _street_gateway(to_street_review(cast))
    with pytest.raises(FlowRuntimeError), transaction.atomic():
        activation.activate()


def test_a_gateway_failing_in_the_background_is_recorded_on_its_task(cast):
    activation = _street_gateway(to_street_review(cast))
    with transaction.atomic(), Context(propagate_exception=False):
        activation.activate()
        activation.task.refresh_from_db()  # the transaction is still usable: the failure was kept in a savepoint
    assert activation.task.status == STATUS.ERROR
    assert "No next task" in activation.task.data["_exception"]["title"]


def test_a_timer_failing_to_arm_in_the_background_is_recorded_on_its_task(cast, monkeypatch):
    application = to_street_review(cast)
    review = GrantTask.objects.get(pk=the_task(application, "street_review").pk)
    timer = GrantFlow.street_review__timeout

    def broken(activation):
        raise ValueError("no calendar for this year")

    monkeypatch.setattr(timer, "_delay", broken)
    host = review.flow_task.activation_class(review)
    with transaction.atomic(), Context(propagate_exception=False):
        timer._arm(host)  # as the timer dispatcher's flow would, when it creates a task
        failed = Task.objects.filter(flow_task=timer, status=STATUS.ERROR).get()
    assert "no calendar" in failed.data["_exception"]["title"]
    with pytest.raises(ValueError), transaction.atomic():  # in a person's transaction it is raised
        timer._arm(host)

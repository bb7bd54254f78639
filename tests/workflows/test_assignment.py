"""Who a new task goes to: the person who returned the step, the applicant, or everyone eligible."""

from __future__ import annotations

from grants import services
from grants.states import State
from tests.helpers import advance
from workflows.selectors import tasks_of_application

S = State


def _owner(application):
    (task,) = tasks_of_application(application.pk)
    return task.owner


def test_a_step_reached_forward_is_offered_to_everyone_eligible(cast, make_application):
    application = advance(make_application(), S.STREET_REVIEW, cast)
    assert _owner(application) is None


def test_a_resubmitted_application_goes_back_to_the_reviewer_who_returned_it(cast, make_application):
    application = advance(make_application(), S.REVISION_REQUESTED, cast, return_at=S.STREET_REVIEW)
    assert _owner(application) == cast.applicant  # the applicant's own step
    services.application_resubmit(actor=cast.applicant, application=application, comment="已修改")
    assert application.status == S.STREET_REVIEW
    assert _owner(application) == cast.street_reviewer


def test_a_report_returned_at_acceptance_comes_back_to_the_officer_by_a_forward_step(cast, make_application):
    application = advance(make_application(), S.COMPLETION_ACCEPTANCE, cast)
    services.completion_return(actor=cast.programme_officer, application=application, reason="缺少受益人签字")
    assert _owner(application) == cast.applicant
    advance(application, S.COMPLETION_VERIFICATION, cast)
    assert _owner(application) is None  # verification was never returned: offered to the street
    advance(application, S.COMPLETION_ACCEPTANCE, cast)  # a forward step, not a resubmission
    assert _owner(application) == cast.programme_officer

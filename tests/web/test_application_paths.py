"""Each path of an application's life, end to end through the pages, as each role would click through it.

After every step: the application's state, its open tasks (who holds them) and its newest audit row, and the
invariant that the open human tasks follow the state.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from viewflow.workflow.models import Task
from viewflow.workflow.status import PROCESS, STATUS
from viewflow.workflow.timers import fire_due_timers

from grants import services
from grants.models import Tranche
from grants.states import State
from tests.helpers import audit_trail, local_noon
from tests.reports.support import attach_completion_documents, write_report
from workflows.flows import GrantFlow
from workflows.models import GrantProcess
from workflows.selectors import tasks_of_application

from .conftest import act, create_draft, draft_data, expect, fresh

pytestmark = pytest.mark.django_db


def take(client, application) -> Task:
    """Take the application's open task from the queue and open its page, as a reviewer does."""
    task = tasks_of_application(application.pk).get()
    assert client.get(reverse("workflows:queue")).content.decode().count(application.title) == 1
    response = client.post(reverse("workflows:task_claim", args=[task.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("workflows:task", args=[task.pk])
    page = client.get(response["Location"])
    assert page.status_code == 200
    return task


def decide(client, application, action: str, **data) -> None:
    """Take the task, then post the decision from the task page (which sends the person back to the inbox)."""
    task = take(client, application)
    response = act(client, application, action, task=task.pk, next=reverse("workflows:inbox"), **data)
    assert response["Location"] == reverse("workflows:inbox")


def to_street_review(browser, cast):
    applicant = browser(cast.applicant)
    application = create_draft(applicant, cast)
    application = expect(application, State.DRAFT, [], None)
    act(applicant, application, "submit")
    expect(application, State.COMMUNITY_CONFIRMATION, [("community_confirmation", None)],
           ("submit", State.DRAFT, State.COMMUNITY_CONFIRMATION, "applicant"))
    decide(browser(cast.community_head), application, "confirm")
    return expect(application, State.STREET_REVIEW, [("street_review", None)],
                  ("confirm", State.COMMUNITY_CONFIRMATION, State.STREET_REVIEW, "community_head"))


def to_approval(browser, cast, application, *, amount: Decimal | None = None):
    decide(browser(cast.street_reviewer), application, "street_approve", comment="材料齐全")
    expect(application, State.STREET_SIGNOFF, [("street_signoff", None)],
           ("street_approve", State.STREET_REVIEW, State.STREET_SIGNOFF, "street_reviewer"))
    decide(browser(cast.street_leader), application, "street_sign_off")
    expect(application, State.FOUNDATION_REVIEW, [("foundation_review", None)],
           ("street_sign_off", State.STREET_SIGNOFF, State.FOUNDATION_REVIEW, "street_leader"))
    decide(browser(cast.programme_officer), application, "foundation_recommend", score="86",
           recommended_amount=str(amount or application.requested_amount), conditions="按月报送进展")
    return expect(application, State.APPROVAL, [("approval", None)],
                  ("foundation_recommend", State.FOUNDATION_REVIEW, State.APPROVAL, "programme_officer"))


def to_publicity(browser, cast):
    application = to_approval(browser, cast, to_street_review(browser, cast))
    decide(browser(cast.secretary_general), application, "approve")
    application = expect(application, State.PUBLICITY, [],
                         ("approve", State.APPROVAL, State.PUBLICITY, "secretary_general"))
    assert application.publicity_ends_on is not None
    return application


def test_happy_path_from_draft_to_closed(browser, cast, time_machine):
    time_machine.move_to(local_noon(dt.date.today()), tick=False)
    application = to_publicity(browser, cast)
    # Publicity waits on the viewflow timer, not on a person.
    process = GrantProcess.objects.get(application=application)
    assert process.task_set.filter(flow_task=GrantFlow.publicity, status=STATUS.NEW).count() == 1

    time_machine.move_to(local_noon(application.publicity_ends_on + dt.timedelta(days=1)))
    assert fire_due_timers() >= 1
    assert not Task.objects.filter(status=STATUS.ERROR).exists()
    application = expect(application, State.AGREEMENT, [("agreement", None)],
                         ("end_publicity", State.PUBLICITY, State.AGREEMENT, None))

    decide(browser(cast.secretary_general), application, "sign_agreement", comment="协议已签署")
    application = expect(application, State.IN_PROGRESS, [("in_progress", "applicant")],
                         ("sign_agreement", State.AGREEMENT, State.IN_PROGRESS, "secretary_general"))

    applicant = browser(cast.applicant)
    if application.midterm_required:  # the 50/40/10 schedule pays a tranche after the mid-term review
        act(applicant, application, "submit_progress_report", progress="已开展助餐服务六周")
        expect(application, State.PROGRESS_REVIEW, [("progress_review", None)],
               ("submit_progress_report", State.IN_PROGRESS, State.PROGRESS_REVIEW, "applicant"))
        decide(browser(cast.programme_officer), application, "accept_progress_report")
        expect(application, State.IN_PROGRESS, [("in_progress", "applicant")],
               ("accept_progress_report", State.PROGRESS_REVIEW, State.IN_PROGRESS, "programme_officer"))

    # The completion report on its page (everything spent as budgeted), its documents on the application page.
    write_report(applicant, application, {"社工服务": "30000.00", "活动物料": "20000.00"})
    attach_completion_documents(applicant, application)
    act(applicant, application, "submit_completion_report", comment="服务老人126人")
    expect(application, State.COMPLETION_VERIFICATION, [("completion_verification", None)],
           ("submit_completion_report", State.IN_PROGRESS, State.COMPLETION_VERIFICATION, "applicant"))
    decide(browser(cast.street_reviewer), application, "verify_completion")
    expect(application, State.COMPLETION_ACCEPTANCE, [("completion_acceptance", None)],
           ("verify_completion", State.COMPLETION_VERIFICATION, State.COMPLETION_ACCEPTANCE, "street_reviewer"))
    decide(browser(cast.programme_officer), application, "accept_completion")
    application = expect(application, State.CLOSING, [("closing", None)],
                         ("accept_completion", State.COMPLETION_ACCEPTANCE, State.CLOSING, "programme_officer"))

    # Paying tranches has no page yet: finance pays them through the service, then closes on the page.
    for number, tranche in enumerate(application.tranches.filter(status=Tranche.Status.PAYABLE), start=1):
        services.tranche_pay(actor=cast.finance, tranche=tranche, bank_reference=f"BANK-{application.pk}-{number}")
    decide(browser(cast.finance), application, "close", comment="资金已结清")
    application = expect(application, State.CLOSED, [],
                         ("close", State.CLOSING, State.CLOSED, "finance"))
    assert GrantProcess.objects.get(application=application).status == PROCESS.DONE
    assert [action for action, *_rest in audit_trail(application)][:7] == [
        "submit", "confirm", "street_approve", "street_sign_off", "foundation_recommend", "approve",
        "end_publicity"]


def test_returned_at_the_street_goes_back_to_the_same_reviewer(browser, cast, web_cast):
    application = to_street_review(browser, cast)
    reviewer = browser(cast.street_reviewer)
    decide(reviewer, application, "return_for_revision", reason="请补充活动安排")
    application = expect(application, State.REVISION_REQUESTED, [("revision_requested", "applicant")],
                         ("return_for_revision", State.STREET_REVIEW, State.REVISION_REQUESTED, "street_reviewer"))

    applicant = browser(cast.applicant)
    edit = reverse("application_edit", args=[application.pk])
    assert applicant.get(edit).status_code == 200
    data = draft_data(cast, title="宇虹社区长者助餐（修订）", document=False)
    data.update({"budget-INITIAL_FORMS": "2", "beneficiaries-INITIAL_FORMS": "1",  # the rows already saved
                 "budget-0-description": "社工服务（每周两次）"})
    assert applicant.post(edit, data).status_code == 302
    application = fresh(application)
    assert application.title == "宇虹社区长者助餐（修订）"
    assert application.budget_lines.first().description == "社工服务（每周两次）"

    act(applicant, application, "resubmit", comment="已补充")
    application = expect(application, State.STREET_REVIEW, [("street_review", "street_reviewer")],
                         ("resubmit", State.REVISION_REQUESTED, State.STREET_REVIEW, "applicant"))
    assert application.title in reviewer.get(reverse("workflows:inbox")).content.decode()
    other_queue = browser(web_cast.second_street_reviewer).get(reverse("workflows:queue")).content.decode()
    assert application.title not in other_queue

    act(reviewer, application, "street_approve")
    expect(application, State.STREET_SIGNOFF, [("street_signoff", None)],
           ("street_approve", State.STREET_REVIEW, State.STREET_SIGNOFF, "street_reviewer"))


def test_rejected_at_the_street(browser, cast):
    application = to_street_review(browser, cast)
    decide(browser(cast.street_reviewer), application, "reject", reason="属于禁止用途")
    application = expect(application, State.REJECTED, [],
                         ("reject", State.STREET_REVIEW, State.REJECTED, "street_reviewer"))
    assert GrantProcess.objects.get(application=application).status == PROCESS.DONE
    page = browser(cast.applicant).get(reverse("application_detail", args=[application.pk])).content.decode()
    assert "属于禁止用途" in page


def test_above_the_threshold_the_board_decides(browser, cast):
    applicant = browser(cast.applicant)
    application = create_draft(applicant, cast, title="宇虹社区长者食堂", amount=Decimal("150000.00"))
    act(applicant, application, "submit")
    decide(browser(cast.community_head), application, "confirm")
    application = to_approval(browser, cast, application)
    decide(browser(cast.secretary_general), application, "approve")
    expect(application, State.BOARD_APPROVAL, [("board_approval", None)],
           ("refer_to_board", State.APPROVAL, State.BOARD_APPROVAL, "secretary_general"))
    decide(browser(cast.board_member), application, "board_approve", minutes="理事会第3次会议：同意")
    application = expect(application, State.PUBLICITY, [],
                         ("board_approve", State.BOARD_APPROVAL, State.PUBLICITY, "board_member"))
    assert application.board_minutes == "理事会第3次会议：同意"


@pytest.mark.parametrize(("action", "state"), [("uphold_objection", State.CANCELLED),
                                                ("dismiss_objection", State.AGREEMENT)])
def test_objection_during_publicity(browser, cast, action, state):
    application = to_publicity(browser, cast)
    services.objection_file(application=application, text="预算偏高", contact="13800000000")
    expect(application, State.OBJECTION, [("objection", None)],
           ("receive_objection", State.PUBLICITY, State.OBJECTION, None))
    decide(browser(cast.secretary_general), application, action, reason="经核实")
    expect(application, state, [("agreement", None)] if state == State.AGREEMENT else [],
           (action, State.OBJECTION, state, "secretary_general"))


def test_withdrawn_by_the_applicant(browser, cast):
    application = to_street_review(browser, cast)
    act(browser(cast.applicant), application, "withdraw", reason="企业已全额赞助")
    application = expect(application, State.WITHDRAWN, [],
                         ("withdraw", State.STREET_REVIEW, State.WITHDRAWN, "applicant"))
    assert GrantProcess.objects.get(application=application).status == PROCESS.CANCELED

"""Each tranche is announced to finance once, when it becomes payable, with the amount it will pay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from grants.states import State
from notifications.models import Event, MessageType

from .test_settlement import accepted

pytestmark = pytest.mark.django_db


def test_every_tranche_is_announced_once_as_it_becomes_payable_the_final_one_with_its_settled_amount(money):
    money.donate("100000.00")
    application = accepted(money, money.approved("30000.00"), spent_share=Decimal("0.95"))

    announced = {event.natural_key: event.payload["amount"]
                 for event in Event.objects.filter(kind=MessageType.TRANCHE_PAYABLE, application=application)}
    tranches = {f"tranche_payable:{pk}": str(amount)
                for pk, amount in application.tranches.order_by("number").values_list("pk", "amount")}
    assert announced == tranches
    assert list(tranches.values()) == ["15000.00", "12000.00", "1500.00"]
    assert Event.objects.filter(kind=MessageType.TRANCHE_PAYABLE, application=application).count() == 3


def test_the_stored_report_dates_follow_signing_submission_and_return(money):
    money.donate("100000.00")
    application = money.walk(money.approved("30000.00"), State.IN_PROGRESS)
    application.refresh_from_db()
    first_progress = application.progress_reports.order_by("number").values_list("due_on", flat=True).first()
    assert application.next_report_due_on == min(d for d in (first_progress, application.completion_due_on) if d)

    money.walk(application, State.COMPLETION_VERIFICATION)
    application.refresh_from_db()
    assert application.next_report_due_on is None

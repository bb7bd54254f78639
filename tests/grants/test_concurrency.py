"""Two people deciding on the same application at the same moment: exactly one decision is taken."""

from __future__ import annotations

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from grants import services
from grants.errors import ApplicationConflict
from grants.models import AuditEntry, GrantApplication, Role
from grants.states import State
from tests.factories import UserFactory
from tests.helpers import advance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def _race(application_pk: int, moves: dict[str, tuple[int, object]]) -> dict[str, object]:
    """Run each move in its own thread, all released together; returns what each one ended with."""
    barrier = threading.Barrier(len(moves))
    outcomes: dict[str, object] = {}

    def run(name: str, user_pk: int, move) -> None:
        try:
            # Each thread loads its own copies, as two web requests would.
            application = GrantApplication.objects.get(pk=application_pk)
            actor = get_user_model().objects.get(pk=user_pk)
            barrier.wait(timeout=10)
            move(actor, application)
            outcomes[name] = "ok"
        except Exception as exc:  # the test asserts on what each thread got
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(name, user_pk, move)) for name, (user_pk, move) in moves.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return outcomes


def test_return_and_approval_at_the_same_moment_only_one_wins(cast, make_application):
    second_reviewer = UserFactory(username="street_reviewer_2", roles=[(Role.STREET_REVIEWER, cast.street_a)])
    for round_ in range(ROUNDS):
        application = advance(make_application(), State.STREET_REVIEW, cast)
        outcomes = _race(application.pk, {
            "return": (cast.street_reviewer.pk, lambda actor, app: services.application_return(
                actor=actor, application=app, reason="请补充预算明细")),
            "approve": (second_reviewer.pk, lambda actor, app: services.application_street_approve(
                actor=actor, application=app)),
        })

        winners = [name for name, outcome in outcomes.items() if outcome == "ok"]
        losers = [outcome for outcome in outcomes.values() if outcome != "ok"]
        assert len(winners) == 1, f"round {round_}: {outcomes}"
        assert len(losers) == 1 and isinstance(losers[0], ApplicationConflict), f"round {round_}: {outcomes}"
        assert losers[0].code == "concurrent_change" and losers[0].message

        application.refresh_from_db()
        expected = State.REVISION_REQUESTED if winners == ["return"] else State.STREET_SIGNOFF
        assert application.status == expected
        step = AuditEntry.objects.filter(application=application, from_state=State.STREET_REVIEW)
        assert step.count() == 1, f"round {round_}: {list(step.values_list('action', 'actor__username'))}"
        assert step.get().action == ("return_for_revision" if winners == ["return"] else "street_approve")

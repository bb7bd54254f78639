"""Random actions by random people never break the rules of an application's life (hypothesis).

A state machine drafts one application and then, step by step, either lets a random person attempt a random
service, or lets someone holding the deciding role attempt one of the transitions open in the current state
(so that runs get deep into the life). After each step:
1. a refused action raised one of our error types and changed nothing; a successful transition wrote
   exactly one audit row, of that transition, by that person;
2. the state is a `State`, and replaying the audit trail's (from, to) pairs from draft through the model's
   FSM reproduces it;
3. reaching publicity needs every sign-off of the approval chain;
4. nobody signed two different steps of one sign-off chain, and no approver may pay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django_fsm import RETURN_VALUE
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from grants import services
from grants.errors import ApplicationError
from grants.models import AuditEntry, GrantApplication, Objection, Tranche
from grants.permissions import CurrentStepDecider, holds_role, may_pay
from grants.states import STEPS, State
from tests.factories import ApplicationFactory
from tests.helpers import end_publicity_by_timer, snapshot

pytestmark = pytest.mark.django_db

# Valid values first: hypothesis starts from (and shrinks towards) the first element.
REASONS = st.sampled_from(["理由充分", "", "  "])


@dataclass(frozen=True)
class Action:
    """A service a person (or nobody) can attempt; `fsm` names the transitions a success may fire."""

    fsm: tuple[str, ...]
    run: Callable[[GrantApplication, object, st.DataObject], object]
    actor: bool = True


def _pending(app: GrantApplication) -> Objection | None:
    return app.objections.order_by("-id").first()


def _decide(uphold: bool):
    def run(app, who, data):
        objection = _pending(app)
        if objection is None:
            return None  # nothing to decide: not an attempt
        return services.objection_decide(actor=who, objection=objection, uphold=uphold, reason=data.draw(REASONS))
    return run


def _end_publicity(app, who, data):
    if app.status == State.PUBLICITY and not data.draw(st.booleans(), label="service instead of timer"):
        return end_publicity_by_timer(app)  # as the beat task does, after the period
    return services.application_end_publicity(application=app)


def _pay(app, who, data):
    for tranche in app.tranches.filter(status=Tranche.Status.PAYABLE).order_by("number"):
        services.tranche_pay(actor=who, tranche=tranche, bank_reference=f"B-{app.pk}-{tranche.number}")


ACTIONS: dict[str, Action] = {
    "submit": Action(("submit",), lambda a, w, d: services.application_submit(actor=w, application=a)),
    "confirm": Action(("confirm",), lambda a, w, d: services.application_confirm(actor=w, application=a)),
    "resubmit": Action(("resubmit",), lambda a, w, d: services.application_resubmit(actor=w, application=a)),
    "withdraw": Action(("withdraw",), lambda a, w, d: services.application_withdraw(
        actor=w, application=a, reason=d.draw(REASONS))),
    "return_for_revision": Action(("return_for_revision",), lambda a, w, d: services.application_return(
        actor=w, application=a, reason=d.draw(REASONS))),
    "reject": Action(("reject",), lambda a, w, d: services.application_reject(
        actor=w, application=a, reason=d.draw(REASONS))),
    "street_approve": Action(("street_approve",), lambda a, w, d: services.application_street_approve(
        actor=w, application=a)),
    "street_sign_off": Action(("street_sign_off",), lambda a, w, d: services.application_street_sign_off(
        actor=w, application=a)),
    "foundation_recommend": Action(("foundation_recommend",), lambda a, w, d: (
        services.application_foundation_recommend(
            actor=w, application=a, score=d.draw(st.sampled_from([85, 0, 100, -1, 101])),
            recommended_amount=d.draw(st.sampled_from(
                [a.requested_amount, "1000.00", "0", "abc", a.requested_amount + Decimal("0.01")]))))),
    "approve": Action(("approve", "refer_to_board"), lambda a, w, d: services.application_approve(
        actor=w, application=a)),
    "board_approve": Action(("board_approve",), lambda a, w, d: services.application_board_approve(
        actor=w, application=a, minutes=d.draw(st.sampled_from(["理事会决议", ""])))),
    "end_publicity": Action(("end_publicity",), _end_publicity, actor=False),
    "receive_objection": Action(("receive_objection",), lambda a, w, d: services.objection_file(
        application=a, text=d.draw(REASONS)), actor=False),
    "dismiss_objection": Action(("dismiss_objection",), _decide(False)),
    "uphold_objection": Action(("uphold_objection",), _decide(True)),
    "sign_agreement": Action(("sign_agreement",), lambda a, w, d: services.agreement_sign(actor=w, application=a)),
    "submit_progress_report": Action(("submit_progress_report",), lambda a, w, d: services.progress_report_submit(
        actor=w, application=a, progress=d.draw(REASONS))),
    "accept_progress_report": Action(("accept_progress_report",), lambda a, w, d: services.progress_report_review(
        actor=w, application=a, accept=True, comment="")),
    "return_progress_report": Action(("return_progress_report",), lambda a, w, d: services.progress_report_review(
        actor=w, application=a, accept=False, comment=d.draw(REASONS))),
    "submit_completion_report": Action(("submit_completion_report",), lambda a, w, d: (
        services.completion_report_submit(actor=w, application=a))),
    "verify_completion": Action(("verify_completion",), lambda a, w, d: services.completion_verify(
        actor=w, application=a)),
    "return_completion_report": Action(("return_completion_report",), lambda a, w, d: services.completion_return(
        actor=w, application=a, reason=d.draw(REASONS))),
    "accept_completion": Action(("accept_completion",), lambda a, w, d: services.completion_accept(
        actor=w, application=a)),
    "close": Action(("close",), lambda a, w, d: services.application_close(actor=w, application=a)),
    "cancel": Action(("cancel",), lambda a, w, d: services.application_cancel(
        actor=w, application=a, reason=d.draw(REASONS))),
    # Services that change no state and write no audit row.
    "pay_tranches": Action((), _pay),
    "conflict_declare": Action((), lambda a, w, d: services.conflict_declare(
        actor=w, application=a, reason=d.draw(REASONS))),
    "edit_title": Action((), lambda a, w, d: services.application_update(actor=w, application=a, title="改名")),
}

# The main path, in order: the guided rule mostly takes the first of these that is open.
FORWARD = ("submit", "resubmit", "confirm", "street_approve", "street_sign_off", "foundation_recommend", "approve",
           "board_approve", "end_publicity", "dismiss_objection", "sign_agreement", "accept_progress_report",
           "verify_completion", "accept_completion", "close")

# Sign-offs: the applicant's own steps (draft and revision) count as one step, "applicant".
SIGNING_ACTIONS = frozenset({
    "submit", "resubmit", "confirm", "street_approve", "street_sign_off", "foundation_recommend", "approve",
    "refer_to_board", "board_approve", "return_for_revision", "reject", "verify_completion",
    "return_completion_report", "accept_completion"})
APPLICANT_STEPS = frozenset({State.DRAFT, State.REVISION_REQUESTED})
APPROVAL_SIGNOFFS = ("confirm", "street_approve", "street_sign_off", "foundation_recommend")


def fsm_meta(name: str):
    return getattr(GrantApplication, name)._django_fsm


def deciding_role(app: GrantApplication, transition: str):
    """The role that may take `transition` now (None: no person takes it)."""
    found = fsm_meta(transition).get_transition(app.status)
    if found is None or found.permission is None:
        return None
    if isinstance(found.permission, CurrentStepDecider):
        return STEPS[app.status].role
    return found.permission.role


class ApplicationLife(RuleBasedStateMachine):
    people: dict[str, object] = {}
    cast = None

    def __init__(self) -> None:
        super().__init__()
        # Each run works inside its own savepoint, rolled back at teardown: runs never see each other.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.app: GrantApplication | None = None

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize(creator=st.sampled_from(["applicant", "applicant_head", "applicant_street_reviewer"]),
                amount=st.sampled_from([Decimal("50000.00"), Decimal("100000.00"), Decimal("150000.00")]))
    def draft(self, creator, amount):
        self.app = ApplicationFactory(actor=self.people[creator], category=self.cast.elder_care,
                                      requested_amount=amount)

    # --- Steps -------------------------------------------------------------------------------------------

    @rule(action=st.sampled_from(sorted(ACTIONS)), data=st.data())
    def anyone_attempts_anything(self, action, data):
        who = data.draw(st.sampled_from(sorted(self.people)), label="who")
        self.attempt(action, self.people[who] if ACTIONS[action].actor else None, data)

    @rule(data=st.data())
    def a_role_holder_attempts_an_open_transition(self, data):
        options = self.open_options()
        if not options:
            return
        forward = self.forward_action()
        main = [option for option in options if option[0] == forward]
        # Mostly the next step of the main path, so that runs reach agreement and completion; else a detour.
        if main and data.draw(st.integers(min_value=0, max_value=4), label="detour") < 4:
            name, person = data.draw(st.sampled_from(main), label="forward")
        else:
            name, person = data.draw(st.sampled_from(options), label="option")
        self.attempt(name, person, data)

    def forward_action(self) -> str | None:
        app = self.app
        if app.status == State.IN_PROGRESS:
            owed = app.midterm_required and app.midterm_accepted_at is None
            return "submit_progress_report" if owed else "submit_completion_report"
        if app.status == State.CLOSING and app.tranches.filter(status=Tranche.Status.PAYABLE).exists():
            return "pay_tranches"
        return next((name for name in FORWARD if any(fsm_meta(t).get_transition(app.status)
                                                     for t in ACTIONS[name].fsm)), None)

    def open_options(self) -> list[tuple[str, object]]:
        """(action, person) pairs: each transition open now, by each person holding its deciding role."""
        app = self.app
        options: list[tuple[str, object]] = []
        for name, action in ACTIONS.items():
            if not action.fsm or not any(fsm_meta(t).get_transition(app.status) for t in action.fsm):
                continue
            if not action.actor:
                options.append((name, None))
                continue
            role = deciding_role(app, action.fsm[0]) or deciding_role(app, action.fsm[-1])
            options += [(name, person) for _, person in sorted(self.people.items())
                        if role and holds_role(person, role, app)]
        if app.status == State.CLOSING:
            options.append(("pay_tranches", self.people["finance"]))
        return options

    def attempt(self, name: str, person, data) -> None:
        app = self.app
        before = snapshot(app)
        state = app.status
        try:
            outcome = ACTIONS[name].run(app, person, data)
        except ApplicationError as exc:
            assert exc.code and exc.message.strip(), (name, exc)
            assert snapshot(app) == before, f"refused {name} changed the application"
            app.refresh_from_db()
            assert app.status == state
            return
        app.refresh_from_db()
        after = snapshot(app)
        new = after["audit"][len(before["audit"]):]
        assert after["audit"][:len(before["audit"])] == before["audit"], "an audit row disappeared"
        if ACTIONS[name].fsm and app.status != state:
            assert len(new) == 1, f"{name} wrote {len(new)} audit rows"
            entry = AuditEntry.objects.get(pk=new[0])
            assert entry.action in ACTIONS[name].fsm
            assert (entry.from_state, entry.to_state) == (state, app.status)
            assert entry.actor_id == (person.pk if person is not None else None)
        else:
            # Not a transition (or a timer that had nothing to fire, or no objection to decide).
            assert new == [] and app.status == state, f"{name} changed the state without a transition"
            if outcome is None and ACTIONS[name].fsm:
                assert after == before

    # --- Invariants -----------------------------------------------------------------------------------------

    def trail(self) -> list[tuple[str, str, str, int | None]]:
        return list(AuditEntry.objects.filter(application=self.app).order_by("id")
                    .values_list("action", "from_state", "to_state", "actor_id"))

    @invariant()
    def state_is_known_and_replays_from_the_audit_trail(self):
        if self.app is None:
            return
        status = GrantApplication.objects.filter(pk=self.app.pk).values_list("status", flat=True).get()
        assert status in State.values
        current = State.DRAFT
        for action, source, target, _actor in self.trail():
            assert source == current, f"{action} left {source} but the application was in {current}"
            found = fsm_meta(action).get_transition(source)
            assert found is not None, f"{action} is no transition from {source}"
            allowed = found.target.allowed_states if isinstance(found.target, RETURN_VALUE) else [found.target]
            assert target in allowed, f"{action} from {source} went to {target}"
            current = target
        assert current == status

    @invariant()
    def publicity_needs_every_approval_signoff(self):
        if self.app is None:
            return
        done: set[str] = set()
        for action, _source, target, _actor in self.trail():
            done.add(action)
            if target == State.PUBLICITY:
                missing = {*APPROVAL_SIGNOFFS, "approve|board_approve"} - done - (
                    {"approve|board_approve"} if done & {"approve", "board_approve"} else set())
                assert not missing, f"publicity reached without {missing}"

    @invariant()
    def nobody_signs_two_steps_of_one_chain(self):
        if self.app is None:
            return
        steps: dict[tuple[str, int], set[str]] = defaultdict(set)
        for action, source, _target, actor in self.trail():
            chain = STEPS[source].chain if source in STEPS else None
            if action in SIGNING_ACTIONS and actor is not None and chain is not None:
                steps[(chain, actor)].add("applicant" if source in APPLICANT_STEPS else source)
        for (chain, actor), signed in steps.items():
            name = next(n for n, p in self.people.items() if p.pk == actor)
            assert len(signed) == 1, f"{name} signed {sorted(signed)} of the {chain} chain"
            if chain == "approval" and signed != {"applicant"}:
                assert may_pay(self.people[name], self.app), f"{name} approved and may also pay"


@pytest.fixture
def machine(cast, dual):
    people = dict(cast.people)
    people.update({name: getattr(dual, name) for name in (
        "applicant_head", "applicant_street_reviewer", "reviewer_leader", "officer_secretary", "secretary_board",
        "secretary_finance")})
    ApplicationLife.people = people
    ApplicationLife.cast = cast
    yield ApplicationLife
    ApplicationLife.people = {}
    ApplicationLife.cast = None


def test_random_actions_by_random_people_keep_the_rules(machine):
    run_state_machine_as_test(machine, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))

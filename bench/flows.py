"""The floor: a stock viewflow flow with the grant flow's node shape and none of its domain code.

Same graph as `workflows.flows.GrantFlow` along the benchmarked path: a `StartHandle`, human `flow.View`
tasks each carrying two non-interrupting `.OnTimeout` timers, a `flow.Switch` after every task where
GrantFlow has one, the publicity `flow.Handle` with its interrupting timer, and an `End`. What it leaves
out is exactly the domain layer: no application, no FSM, no audit row, no permission or role checks,
no `.Assign()` callback, plain `timedelta` delays instead of working days, gateways that read the
process's own `data` instead of the application's state. It uses viewflow's stock `Process` and the
same `select_for_update_lock` as GrantFlow.
"""

from __future__ import annotations

import datetime as dt

from viewflow import this
from viewflow.workflow import flow, lock
from viewflow.workflow.activation import Activation

REMINDER = dt.timedelta(days=3)
ESCALATION = dt.timedelta(days=5)
PUBLICITY = dt.timedelta(days=7)


def human_task() -> flow.View:
    """A task completed programmatically, with a reminder and an escalation, both non-interrupting."""
    # The view is never rendered: the benchmark completes tasks through their activations.
    return (
        flow.View(lambda request, **kwargs: None)
        .OnTimeout(REMINDER, this.remind, interrupting=False)
        .OnTimeout(ESCALATION, this.escalate, interrupting=False)
    )


def route_ok(activation: Activation) -> bool:
    """A gateway condition read from the process itself (GrantFlow reads the application's state)."""
    return activation.process.data.get("route", "ok") == "ok"


def switch(node: object) -> flow.Switch:
    return flow.Switch().Case(node, route_ok)


class StockFlow(flow.Flow):
    """Stock viewflow with the grant flow's shape along submission -> publicity -> closing."""

    lock_impl = lock.select_for_update_lock
    process_title = "Stock viewflow benchmark process"

    start = flow.StartHandle(this.start_process).Next(this.community_confirmation)
    community_confirmation = human_task().Next(this.after_community_confirmation)
    after_community_confirmation = switch(this.street_review)
    street_review = human_task().Next(this.after_street_review)
    after_street_review = switch(this.street_signoff)
    street_signoff = human_task().Next(this.after_street_signoff)
    after_street_signoff = switch(this.foundation_review)
    foundation_review = human_task().Next(this.after_foundation_review)
    after_foundation_review = switch(this.approval)
    approval = human_task().Next(this.after_approval)
    after_approval = switch(this.publicity)

    publicity = flow.Handle().OnTimeout(PUBLICITY, this.end_publicity, interrupting=True).Next(this.objection)
    end_publicity = flow.Function(this.noop).Next(this.agreement)
    objection = human_task().Next(this.after_objection)
    after_objection = switch(this.agreement)

    agreement = human_task().Next(this.in_progress)
    in_progress = human_task().Next(this.after_in_progress)
    after_in_progress = switch(this.completion_verification)
    completion_verification = human_task().Next(this.after_completion_verification)
    after_completion_verification = switch(this.completion_acceptance)
    completion_acceptance = human_task().Next(this.after_completion_acceptance)
    after_completion_acceptance = switch(this.closing)
    closing = human_task().Next(this.closed)
    closed = flow.End()

    remind = flow.Function(this.noop).Next(this.reminded)
    escalate = flow.Function(this.noop).Next(this.reminded)
    reminded = flow.End()

    def start_process(self, activation: Activation, **kwargs: object) -> object:
        return activation.process

    def noop(self, activation: Activation) -> None:
        """The side paths' handlers record nothing: there is no domain here."""

"""The grant flow's node classes: viewflow's View, Switch and timer boundary, with fewer round trips.

Every step of the grant process runs inside the deciding person's transaction (`workflows.sync`), where
any error undoes the whole decision. viewflow's nodes are written for the general case and pay for it on
every step of ours:

- a gateway and each armed timer open a savepoint of their own (two round trips each) so that a failure
  in the background can be recorded on the task instead of raised; in a person's transaction the error
  is raised anyway, so ours open one only when viewflow is told to keep errors (`propagate_exception`
  off: the timer dispatcher);
- each new task is inserted, then linked to the task before it: ours are written with their links
  (`workflows.inserts`, one statement on PostgreSQL);
- a gateway's task is inserted, then updated as done: ours picks its branch first and is inserted done;
- a person's finished task is saved whole: ours writes the four columns a decision changes;
- a boundary timer is inserted and then updated with its due moment: ours are inserted scheduled, all the
  timers of a new task together with their links to it (in the background, viewflow's way, see above);
- a person's task or a wait is completed under a lock and a reload of the task that `workflows.sync` has
  already done;
- each boundary timer listens for every finished task of the flow and disarms itself with a query and an
  update of its own: ours are disarmed together, in one `UPDATE`, by one receiver for the flow.

What the nodes do is unchanged: the same task rows, statuses, links and due moments as viewflow's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.context import context
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.flow.nodes import TimerBoundary
from viewflow.workflow.nodes.boundary import BoundaryEventMixin
from viewflow.workflow.nodes.switch import SwitchActivation
from viewflow.workflow.nodes.view import ViewActivation
from viewflow.workflow.signals import task_finished
from viewflow.workflow.status import STATUS

from .inserts import insert_linked

# A boundary timer may be disarmed from these (viewflow's TimerActivation.cancel has the same sources).
ARMED_STATUSES = (STATUS.NEW, STATUS.SCHEDULED)


def _savepoint_needed() -> bool:
    """Whether a node's failure is recorded on its task (then a savepoint keeps the rest) instead of raised."""
    return not context.propagate_exception


class RoutingActivation(SwitchActivation):
    """A Switch's activation: picks its branch first and inserts its task already done (one INSERT).

    viewflow inserts the gateway's task, picks the branch in a savepoint and updates the task to done.
    In a person's transaction (`propagate_exception` on) an error is raised anyway, so the branch is
    picked before the insert; in the background (the timer dispatcher) viewflow's way is kept, so that
    a gateway with no matching case is recorded on its task.
    """

    @classmethod
    def create(cls, flow_task: Any, prev_activation: Activation, token: Any, data: Any = None,
               seed: Any = None) -> RoutingActivation:
        if _savepoint_needed():
            return super().create(flow_task, prev_activation, token, data=data, seed=seed)
        task = flow_task.flow_class.task_class(process=prev_activation.process, flow_task=flow_task, token=token,
                                               status=STATUS.DONE, data=data if data is not None else {},
                                               seed=seed)
        activation = cls(task)
        activation.next_task = activation.branch()
        task.finished = timezone.now()
        insert_linked([task], prev_activation.task.pk)
        return activation

    def branch(self) -> Any:
        """The first case whose condition holds (or the default); none is a flow error."""
        found = next((node for node, condition in self.flow_task._branches
                      if condition is None or condition(self)), None)
        if found is None:
            raise FlowRuntimeError(f"No next task available for {self.flow_task.name}")
        return found

    @Activation.status.super()
    def activate(self) -> None:
        with self.exception_guard(), transaction.atomic(savepoint=_savepoint_needed()):
            self.next_task = self.branch()


class Routing(flow.Switch):
    """viewflow's Switch gateway (first matching case wins) with `RoutingActivation`."""

    activation_class = RoutingActivation


class ServiceTimer(TimerBoundary):
    """A non-interrupting or interrupting timer on a person's task, inserted already scheduled.

    viewflow inserts the timer's task, then computes the due moment in a savepoint and updates the row;
    this computes the moment first and inserts the row already scheduled. The timers of one task are
    disarmed together by `disarm_service_timers` when the task finishes.
    """

    def _ready(self) -> None:
        # Skips the boundary mixin's own `_ready`, which connects one `task_finished` receiver per timer node.
        super(BoundaryEventMixin, self)._ready()
        self._attached_to._boundary_events.append(self)
        task_finished.connect(disarm_service_timers, sender=self.flow_class,
                              dispatch_uid=f"disarm_service_timers:{self.flow_class.__module__}."
                                           f"{self.flow_class.__qualname__}")

    def due(self, activation: Activation) -> dt.datetime:
        """The timer's due moment: its delay (a callable, a timedelta or a datetime) resolved now."""
        delay = self._delay(activation) if callable(self._delay) else self._delay
        if isinstance(delay, dt.timedelta):
            delay = timezone.now() + delay
        if not isinstance(delay, dt.datetime):
            raise ValueError(f"Timer delay must be a timedelta or datetime, got {delay!r}")
        return delay

    def armed_task(self, host_activation: Activation) -> Any:
        """The timer's task row for a new host task, scheduled and not saved yet."""
        task = self.flow_class.task_class(process=host_activation.process, flow_task=self,
                                          flow_task_type=self.task_type, token=host_activation.task.token,
                                          status=STATUS.SCHEDULED, data={})
        task.scheduled = self.due(self.activation_class(task))
        return task

    def _arm(self, host_activation: Activation) -> None:
        if _savepoint_needed():  # in the background: viewflow's way, a failure is kept on the timer's task
            super()._arm(host_activation)
            return
        arm_together([self], host_activation)


def arm_together(timers: list[ServiceTimer], host_activation: Activation) -> None:
    """Arm a new host task's timers: their rows and their links to the host written together."""
    insert_linked([timer.armed_task(host_activation) for timer in timers], host_activation.task.pk)


def disarm_service_timers(*, task: Any, **kwargs: Any) -> None:
    """When a task finishes, cancel every still-armed `ServiceTimer` of its node, in one statement.

    By process and node rather than through the timers' link to their task: the grant flow has no
    parallel branches, so a node has at most one open task per process, and a timer left armed by an
    earlier task of the same node (cancelled by an interrupting timer, which finishes nothing) is stale too.
    """
    timers = [event for event in getattr(task.flow_task, "_boundary_events", ())
              if isinstance(event, ServiceTimer)]
    if not timers:
        return
    type(task)._default_manager.filter(process_id=task.process_id, flow_task__in=timers,
                                       status__in=ARMED_STATUSES).update(status=STATUS.CANCELED,
                                                                         finished=timezone.now())


class ServiceTimeouts:
    """`.OnTimeout` that hangs a `ServiceTimer` on the node instead of viewflow's TimerBoundary."""

    def OnTimeout(self, delay: Any, then: Any, interrupting: bool = True,
                  title: str | None = None) -> Any:
        boundary = ServiceTimer(None, delay=delay, interrupting=interrupting).Next(then)
        if title is not None:
            boundary.Annotation(title=title)
        self._boundary_specs.append(("timeout", boundary))  # type: ignore[attr-defined]
        return self

    def _create(self, prev_activation: Activation, token: Any, data: Any = None, seed: Any = None) -> Activation:
        """viewflow's `Node._create`, with the `ServiceTimer`s armed together (`arm_together`)."""
        activation = self.activation_class.create(self, prev_activation, token, data=data, seed=seed)
        # In a person's transaction the timers go in together; in the background (the timer dispatcher) each
        # is armed viewflow's way, so that a failing due moment is kept on its task instead of raised.
        together = [] if _savepoint_needed() else [event for event in self._boundary_events
                                                   if isinstance(event, ServiceTimer)]
        if together:
            arm_together(together, activation)
        for event in self._boundary_events:
            if event not in together:
                event._arm(activation)
        return activation


class SignOffActivation(ViewActivation):
    """A person's task, inserted with its link to the task before it, finished by a narrow UPDATE."""

    @classmethod
    def create(cls, flow_task: Any, prev_activation: Activation, token: Any, data: Any = None,
               seed: Any = None) -> SignOffActivation:
        # viewflow's ViewActivation.create, with the row and its link written together (`insert_linked`).
        task = flow_task.flow_class.task_class(process=prev_activation.process, flow_task=flow_task, token=token,
                                               data=data if data is not None else {}, seed=seed)
        activation = cls(task)
        owner_permission = flow_task.calc_owner_permission(activation)
        if owner_permission:
            task.owner_permission = owner_permission
            task.owner_permission_obj = flow_task.calc_owner_permission_obj(activation)
        owner = flow_task.calc_owner(activation)
        if owner:
            task.owner = owner
            task.status = STATUS.ASSIGNED
        insert_linked([task], prev_activation.task.pk)
        if flow_task._on_create is not None:
            flow_task._on_create(activation)
        return activation

    @Activation.status.transition(source=STATUS.STARTED, target=STATUS.DONE)
    def complete(self) -> None:
        """Finish the task: only the columns a person's decision changes are written."""
        self.task.finished = timezone.now()
        self.task.save(update_fields=["owner", "status", "started", "finished"])
        task_finished.send(sender=self.flow_class, process=self.process, task=self.task)


class SignOff(ServiceTimeouts, flow.View):
    """viewflow's View (a person's task) with `SignOffActivation` and `ServiceTimer`s."""

    activation_class = SignOffActivation


class Wait(ServiceTimeouts, flow.Handle):
    """viewflow's Handle (a wait ended from outside the flow) whose timers are `ServiceTimer`s."""

    def finish(self, task: Any) -> None:
        """End the wait and move on. The caller holds the process lock and read `task` after taking it.

        viewflow's `Handle.run(task)` would take the lock and reload the task once more.
        """
        activation = self.activation_class(task)
        activation.run(None)
        activation.execute()

"""The viewflow process of one grant application."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.managers import TaskQuerySet
from viewflow.workflow.models import Process, Task

if TYPE_CHECKING:
    from grants.models import GrantApplication


@dataclass
class InFlight:
    """The transition moving a process right now: its application as the service holds it, and reads done ahead.

    `last_exits` maps a state to (action, actor id) of the application's latest audit row leaving that state,
    or (None, None) when it never left it; `workflows.sync` reads it for the state the transition reached,
    together with the open task, so that assigning the next task needs no query of its own.
    """

    application: GrantApplication
    last_exits: dict[str, tuple[str | None, int | None]] = field(default_factory=dict)


_in_flight: ContextVar[InFlight | None] = ContextVar("workflows_in_flight", default=None)


@contextmanager
def transition_in_flight(flight: InFlight) -> Iterator[InFlight]:
    """While the flow moves on a transition, its nodes see the service's application (and what sync read)."""
    token = _in_flight.set(flight)
    try:
        yield flight
    finally:
        _in_flight.reset(token)


def in_flight(application_id: int) -> InFlight | None:
    """The transition in flight for this application, if one is moving its process now."""
    flight = _in_flight.get()
    return flight if flight is not None and flight.application.pk == application_id else None


class GrantProcess(Process):
    """The running process that carries one application through its sign-offs; one per application."""

    application = models.OneToOneField("grants.GrantApplication", on_delete=models.PROTECT,
                                       related_name="process", verbose_name=_("application"))
    # Copies of the application's organisations, so that the queue filters on who may take a task without
    # joining application, community and fund. Set at the start (`GrantFlow.start_process`) and kept right
    # when a community moves to another street office or a fund to another foundation (`workflows.receivers`).
    community = models.ForeignKey("grants.Community", on_delete=models.PROTECT, related_name="+",
                                  db_index=False, verbose_name=_("community"))
    street_office = models.ForeignKey("grants.StreetOffice", on_delete=models.PROTECT, related_name="+",
                                      db_index=False, verbose_name=_("street office"))
    foundation = models.ForeignKey("grants.Foundation", on_delete=models.PROTECT, related_name="+",
                                   db_index=False, verbose_name=_("foundation"))

    class Meta:
        verbose_name = _("grant process")
        verbose_name_plural = _("grant processes")
        ordering = ["-created"]
        # Declared here: viewflow adds `manage` only when the flows module is imported before migrate.
        default_permissions = ("add", "change", "delete", "view", "manage")
        # The queue joins each candidate task to its process by id and keeps those of the person's organisation:
        # (scope id, process id) finds them in the index alone, and the receivers' updates by scope use it too.
        indexes = [
            models.Index(fields=["community", "process_ptr"], name="grantprocess_community_idx"),
            models.Index(fields=["street_office", "process_ptr"], name="grantprocess_street_idx"),
            models.Index(fields=["foundation", "process_ptr"], name="grantprocess_foundation_idx"),
        ]

    def set_scope(self, application: GrantApplication) -> None:
        """Copy the application's community, street office and foundation ids (one query unless loaded already)."""
        fields = type(application)._meta
        if fields.get_field("community").is_cached(application) and fields.get_field("fund").is_cached(application):
            street_office_id, foundation_id = application.community.street_office_id, application.fund.foundation_id
        else:
            street_office_id, foundation_id = (type(application).objects.filter(pk=application.pk)
                                               .values_list("community__street_office_id", "fund__foundation_id")
                                               .get())
        self.community_id = application.community_id
        self.street_office_id = street_office_id
        self.foundation_id = foundation_id

    def __str__(self) -> str:
        return str(self.application)

    def current_application(self) -> GrantApplication:
        """The application; during a transition the very object the service just saved, without a query.

        Gateways, timers and assignment must route on the state the service reached, and reading it again
        would cost a query per node. Cached on the process only (assigning it would also cache this
        process on the service's application).
        """
        flight = in_flight(self.application_id)
        if flight is not None:
            GrantProcess._meta.get_field("application").set_cached_value(self, flight.application)
        return self.application


class GrantTaskManager(models.Manager.from_queryset(TaskQuerySet)):
    """viewflow's task manager, loading each task's process (and grant process) in the same query."""

    def get_queryset(self) -> TaskQuerySet:
        return super().get_queryset().select_related("process__grantprocess")


class GrantTask(Task):
    """A task of the grant process (the same table): it brings its process along when loaded.

    viewflow builds an activation for every task it touches (the one completed, each boundary timer it
    cancels) and each read the task's process, then the grant process, one query apiece. As the base
    manager this also covers `task.activation()`, which reloads the task first.
    """

    objects = GrantTaskManager()

    class Meta:
        proxy = True
        base_manager_name = "objects"
        verbose_name = _("grant task")
        verbose_name_plural = _("grant tasks")

"""Events recorded as things happen: each in the transaction of the change that caused it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grants.models import Role, Tranche

from .models import MessageType
from .services import event_record

if TYPE_CHECKING:
    from grants.models import AuditEntry, GrantApplication


def on_application_transitioned(*, application: GrantApplication, action: str, audit_entry: AuditEntry,
                                **kwargs: object) -> None:
    """Tell the people concerned about a decision on an application."""
    key = f"audit:{audit_entry.pk}"
    payload = {"comment": audit_entry.comment}
    if action in ("return_for_revision", "return_completion_report"):
        event_record(kind=MessageType.RETURNED_FOR_REVISION, application=application,
                     recipient=application.created_by, payload=payload, natural_key=key)
    elif action in ("approve", "board_approve"):
        event_record(kind=MessageType.APPROVED, application=application, recipient=application.created_by,
                     payload=payload, natural_key=key)
    elif action == "reject":
        event_record(kind=MessageType.REJECTED, application=application, recipient=application.created_by,
                     payload=payload, natural_key=key)
    elif action == "receive_objection":
        event_record(kind=MessageType.OBJECTION_FILED, application=application,
                     recipient_role=Role.SECRETARY_GENERAL, natural_key=key)


# A tranche is released only inside the transition that met its condition (signing, mid-term or final
# acceptance), in that transaction: the event is recorded as it happens, from the tranche in hand.
def on_tranche_released(*, instance: Tranche, name: str, **kwargs: object) -> None:
    """Finance hears that a tranche has become payable."""
    if name != "release" or "exception" in kwargs:
        return
    event_record(kind=MessageType.TRANCHE_PAYABLE, application=instance.application, recipient_role=Role.FINANCE,
                 payload={"amount": str(instance.amount)}, natural_key=f"tranche_payable:{instance.pk}")


def on_tranche_paid(*, tranche: Tranche, **kwargs: object) -> None:
    """The applicant hears that money was paid to their project."""
    event_record(kind=MessageType.TRANCHE_PAID, application=tranche.application,
                 recipient=tranche.application.created_by, payload={"amount": str(tranche.amount)},
                 natural_key=f"tranche_paid:{tranche.pk}")


def on_task_created(*, task_pk: int, application: GrantApplication, step: str, owner: object) -> None:
    """Whoever a new task is given or offered to hears of it."""
    from grants.states import STEPS

    event_record(kind=MessageType.TASK_ASSIGNED, application=application, recipient=owner,
                 recipient_role="" if owner else STEPS[step].role, payload={"step": step, "task": task_pk},
                 natural_key=f"task_assigned:{task_pk}")

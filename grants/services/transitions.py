"""The one place that runs an application's FSM transition: checks, save and audit in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from ..errors import ActionForbidden, ApplicationConflict, ApplicationError
from ..models import AuditEntry, GrantApplication
from ..signals import application_transitioned
from ..states import ACTION_LABELS, State

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def require_text(value: str, *, field: str) -> str:
    """A reason or comment that the rules say must be given; blank is refused with a clear error."""
    value = (value or "").strip()
    if not value:
        raise ApplicationError(_("Please give a reason."), code="reason_required", field=field)
    return value


def transition_denial(application: GrantApplication, action: str, actor: AbstractBaseUser | None) -> str | None:
    """Why `actor` may not run `action` on the application now (state or permission), or None."""
    meta = getattr(application, action)._django_fsm
    found = meta.get_transition(application.status)
    if found is None:
        return _("“%(action)s” is not possible while the application is “%(state)s”.") % {
            "action": ACTION_LABELS[action], "state": State(application.status).label}
    if found.permission is not None:
        return found.permission.denial(application, actor)
    return None


def run_transition(
    application: GrantApplication,
    action: str,
    *,
    actor: AbstractBaseUser | None,
    comment: str = "",
    prepare: Callable[[], None] | None = None,
    effects: Callable[[], None] | None = None,
) -> GrantApplication:
    """Run one transition by name with translated errors; on any failure nothing changes.

    1. Refuse with a clear message when the state does not allow it or the actor may not take it.
    2. In one transaction: apply the decision's data (`prepare`), check each condition, run the
       transition, save (a stale state raises a conflict), write the audit row, apply what follows
       from it (`effects`: money, tranches) and tell listeners (the workflow moves its tasks); any
       error there undoes everything.
    3. On failure, reload the application so the caller never sees a half-changed object.
    """
    meta = getattr(application, action)._django_fsm
    source = application.status
    found = meta.get_transition(source)
    if found is None:
        raise ApplicationError(transition_denial(application, action, actor), code="invalid_state")
    if found.permission is not None:
        denial = found.permission.denial(application, actor)
        if denial:
            raise ActionForbidden(denial, code="forbidden")
    try:
        with transaction.atomic():
            if prepare is not None:
                prepare()
            for condition in found.conditions:
                problem = condition.problem(application)
                if problem:
                    raise ApplicationError(problem, code=condition.code)
            getattr(application, action)()
            application.save()
            entry = AuditEntry.objects.create(application=application, action=action, from_state=source,
                                              to_state=application.status, actor=actor, comment=comment)
            if effects is not None:
                effects()
            application_transitioned.send(sender=GrantApplication, application=application, action=action,
                                          source=source, target=application.status, actor=actor,
                                          comment=comment, audit_entry=entry)
    except ConcurrentTransition as exc:
        application.refresh_from_db()
        raise ApplicationConflict(
            _("Somebody else changed this application a moment ago. Please reload it and try again."),
            code="concurrent_change") from exc
    except BaseException:
        if application.pk is not None:
            application.refresh_from_db()
        raise
    return application

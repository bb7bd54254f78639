"""The one place that runs an application's FSM transition: checks, save and audit in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition

from ..calendar import overrides_read_once
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


class _ConditionsChecked:
    """A transition's django-fsm meta that reports its conditions met: `run_transition` has just checked them."""

    def __init__(self, meta: Any) -> None:
        self._meta = meta

    def __getattr__(self, name: str) -> Any:
        return getattr(self._meta, name)

    def conditions_met(self, instance: GrantApplication, state: str) -> bool:
        return True


def _fire(application: GrantApplication, action: str) -> None:
    """Run the transition through django-fsm (signals, state change) without evaluating each condition again.

    The conditions were checked a moment before, in the same transaction and on the same object, each
    with its own message; several of them query, and django-fsm would run them all a second time.
    """
    bound = getattr(application, action)
    meta, body = bound._django_fsm, bound.__wrapped__

    def checked(instance: GrantApplication, *args: Any, **kwargs: Any) -> Any:
        return body(instance, *args, **kwargs)

    checked.__name__ = body.__name__
    checked._django_fsm = _ConditionsChecked(meta)  # type: ignore[attr-defined]
    meta.field.change_state(application, checked)


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
        with transaction.atomic(), overrides_read_once():
            if prepare is not None:
                prepare()
            for condition in found.conditions:
                problem = condition.problem(application)
                if problem:
                    raise ApplicationError(problem, code=condition.code)
            _fire(application, action)
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

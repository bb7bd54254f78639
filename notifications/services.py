"""Recording events for delivery: idempotent on the event's natural key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from .models import Event, MessageType

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from grants.models import GrantApplication


def event_record(
    *,
    kind: MessageType,
    natural_key: str,
    application: GrantApplication | None = None,
    recipient: AbstractBaseUser | None = None,
    recipient_role: str = "",
    payload: dict[str, Any] | None = None,
) -> Event | None:
    """Record an event once; a second call with the same natural key records nothing and returns None."""
    try:
        with transaction.atomic():
            return Event.objects.create(kind=kind, natural_key=natural_key, application=application,
                                        recipient=recipient, recipient_role=recipient_role,
                                        payload=payload or {})
    except IntegrityError:
        if Event.objects.filter(natural_key=natural_key).exists():
            return None
        raise

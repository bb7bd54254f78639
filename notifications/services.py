"""Recording events, fanning them out into the outbox, and delivering each outbox row exactly once."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from .channels import CHANNELS, DeliveryError
from .messages import render
from .models import Channel, ChannelHealth, ChannelPreference, Delivery, Event, MessageType

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from grants.models import GrantApplication

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# A claim older than this belongs to a worker that died mid-send: the sweep gives the row back.
STALE_CLAIM = dt.timedelta(minutes=10)
# Rows just written are sent by their own on-commit task; the sweep leaves them this long.
SWEEP_GRACE = dt.timedelta(seconds=60)
# (role, organisation id) -> its active holders, preferences loaded: kept by a caller that records many events.
RoleHolders = dict[tuple[str, int], list["AbstractBaseUser"]]


def backoff(attempts: int) -> dt.timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, ... capped at 30 min (well below Redis' visibility timeout)."""
    return dt.timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 1800))


def _recipients_and_preferences(
    application: GrantApplication | None, recipient: AbstractBaseUser | None, recipient_role: str,
    holders: RoleHolders | None = None,
) -> tuple[list[AbstractBaseUser], dict[int, ChannelPreference]]:
    """Who hears of an event and their channel preferences, in one query (none when `holders` knows them)."""
    if recipient is not None:
        return [recipient], {p.user_id: p for p in ChannelPreference.objects.filter(user=recipient)}
    if not recipient_role or application is None:
        return [], {}
    from grants.permissions import ROLE_SCOPE, scope_id
    from grants.selectors import role_holders

    key = (recipient_role, scope_id(application, ROLE_SCOPE[recipient_role]))
    people = holders.get(key) if holders is not None else None
    if people is None:
        people = list(role_holders(application, recipient_role).select_related("channel_preference"))
        if holders is not None:
            holders[key] = people
    preferences = {}
    for person in people:
        try:
            preferences[person.pk] = person.channel_preference
        except ChannelPreference.DoesNotExist:
            pass
    return people, preferences


def _insert_sql(event: Event) -> tuple[str, list[Any]]:
    """`INSERT` of the event unless its natural key is already recorded, returning its id (no row if it was)."""
    fields = [f for f in Event._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(event, add=True), connection) for f in fields]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(Event._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({quote('natural_key')}) DO NOTHING "
           f"RETURNING {quote(Event._meta.pk.column)}")
    return sql, values


def _saved(event: Event, pk: int) -> None:
    event.pk = pk
    event._state.adding = False
    event._state.db = connection.alias


def _insert_once(event: Event) -> bool:
    """Insert the event unless its natural key is already recorded: one round trip, no savepoint.

    `INSERT ... ON CONFLICT (natural_key) DO NOTHING RETURNING id` (PostgreSQL, SQLite 3.35+); any other
    integrity error (a missing application, say) still raises.
    """
    sql, values = _insert_sql(event)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    _saved(event, row[0])
    return True


def _insert_once_with_deliveries(event: Event, deliveries: list[Delivery]) -> bool:
    """`_insert_once` and the deliveries' `INSERT` in one statement (PostgreSQL: data-modifying `WITH`).

    The deliveries are written only when the event is: an event recorded before inserts nothing at all.
    """
    event_sql, values = _insert_sql(event)
    quote = connection.ops.quote_name
    sql = f"WITH ev AS ({event_sql})"
    if deliveries:
        fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key and f.name != "event"]
        columns = ", ".join(quote(f.column) for f in fields)
        row = f"({', '.join(f'%s::{f.db_type(connection)}' for f in fields)})"
        for delivery in deliveries:
            values += [f.get_db_prep_save(f.pre_save(delivery, add=True), connection) for f in fields]
        sql += (f", d AS (INSERT INTO {quote(Delivery._meta.db_table)} ({quote('event_id')}, {columns}) "
                f"SELECT ev.id, v.* FROM ev, (VALUES {', '.join([row] * len(deliveries))}) AS v ({columns}) "
                f"RETURNING {quote(Delivery._meta.pk.column)}, {quote('recipient_id')}, {quote('channel')}) "
                "SELECT ev.id, d.* FROM ev LEFT JOIN d ON true")
    else:
        sql += " SELECT ev.id FROM ev"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    if not rows:
        return False
    _saved(event, rows[0][0])
    if not deliveries:
        return True
    # (recipient, channel) is unique per event: it pairs each returned id with its delivery.
    ids = {(recipient_id, channel): pk for _event, pk, recipient_id, channel in rows}
    for delivery in deliveries:
        delivery.event, delivery.pk = event, ids[(delivery.recipient_id, delivery.channel)]
        delivery._state.adding = False
        delivery._state.db = connection.alias
    return True


def _reachable_channels(person: AbstractBaseUser, preference: ChannelPreference | None) -> list[str]:
    """The person's channels that have an address to send to (email is on by default, but not everyone has one)."""
    preference = preference or ChannelPreference(user=person)
    addresses = {Channel.EMAIL: getattr(person, "email", ""), Channel.SMS: preference.phone,
                 Channel.WECOM: preference.wecom_webhook}
    return [channel for channel in preference.channels() if addresses.get(channel, True)]


def _enqueue(delivery_ids: list[int]) -> None:
    from .tasks import deliver

    for n, pk in enumerate(delivery_ids):
        try:
            deliver.delay(pk)
        except Exception:  # the broker is down: the sweep sends these rows once it is back
            # Stop at the first failure: each further try would wait out Celery's publish retries again.
            logger.warning("could not enqueue delivery %s (%d left unqueued); the sweep will pick them up", pk,
                           len(delivery_ids) - n, exc_info=True)
            return


def event_record(
    *,
    kind: MessageType,
    natural_key: str,
    application: GrantApplication | None = None,
    recipient: AbstractBaseUser | None = None,
    recipient_role: str = "",
    payload: dict[str, Any] | None = None,
    holders: RoleHolders | None = None,
) -> Event | None:
    """Record an event once and queue one delivery per recipient and channel, all in the caller's transaction.

    A second call with the same natural key records nothing and returns None. The deliveries are handed
    to Celery only after the transaction commits. `holders`, a dict the caller keeps over many events (a
    reminder sweep), looks each role's holders up once per organisation.
    """
    event = Event(kind=kind, natural_key=natural_key, application=application, recipient=recipient,
                  recipient_role=recipient_role, payload=payload or {})
    if connection.vendor == "postgresql":
        # Who hears of it first, then the event and its deliveries in one round trip.
        people, preferences = _recipients_and_preferences(application, recipient, recipient_role, holders)
        deliveries = [Delivery(recipient=person, channel=channel)
                      for person in people for channel in _reachable_channels(person, preferences.get(person.pk))]
        if not _insert_once_with_deliveries(event, deliveries):
            return None
    else:
        if not _insert_once(event):
            return None
        people, preferences = _recipients_and_preferences(application, recipient, recipient_role, holders)
        deliveries = [Delivery(event=event, recipient=person, channel=channel)
                      for person in people for channel in _reachable_channels(person, preferences.get(person.pk))]
        Delivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in deliveries]
    transaction.on_commit(lambda: _enqueue(ids))
    return event


@dataclass(frozen=True)
class Attempt:
    """What happened to one delivery attempt; `retry_in` is set when a later try may succeed."""

    status: str
    retry_in: dt.timedelta | None = None


def _note_health(channel: str, error: str = "") -> None:
    now = timezone.now()
    fields = {"last_error": error[:2000], "last_error_at": now} if error else {"last_success_at": now}
    ChannelHealth.objects.update_or_create(channel=channel, defaults=fields)


def delivery_attempt(*, delivery_id: int) -> Attempt:
    """Claim one queued delivery, send it, and record the outcome; a row claimed elsewhere is skipped.

    1. Claim: a conditional update from queued to sending; if nothing was updated, another worker
       (or an earlier try) has it, and nothing is sent.
    2. Send through the channel in the recipient's language.
    3. Sent; or failed for good (permanent error, too many attempts); or queued again with backoff.
    """
    now = timezone.now()
    claimed = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.QUEUED, due_at__lte=now).update(
        status=Delivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    if not claimed:
        return Attempt(status="skipped")
    delivery = Delivery.objects.select_related("event__application__community", "recipient").get(pk=delivery_id)
    try:
        try:
            CHANNELS[delivery.channel].deliver(render(delivery))
        except DeliveryError:
            raise
        except Exception as exc:  # a bug (rendering, a provider): count it like a temporary failure
            logger.exception("delivery %s failed unexpectedly", delivery_id)
            raise DeliveryError(f"unexpected {exc.__class__.__name__}: {exc}", permanent=False) from exc
    except DeliveryError as exc:
        _note_health(delivery.channel, exc.reason)
        if exc.permanent or delivery.attempts >= MAX_ATTEMPTS:
            Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.FAILED, last_error=exc.reason,
                                                           claimed_at=None)
            return Attempt(status=Delivery.Status.FAILED)
        wait = backoff(delivery.attempts)
        Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.QUEUED, last_error=exc.reason,
                                                       claimed_at=None, due_at=timezone.now() + wait)
        return Attempt(status=Delivery.Status.QUEUED, retry_in=wait)
    Delivery.objects.filter(pk=delivery_id).update(status=Delivery.Status.SENT, sent_at=timezone.now(),
                                                   last_error="")
    if delivery.channel != Channel.IN_APP:
        _note_health(delivery.channel)
    return Attempt(status=Delivery.Status.SENT)


def deliveries_requeue(*, limit: int = 1000) -> list[int]:
    """The sweep: give back stale claims and hand every due, unsent delivery to Celery again.

    Its cost follows what is due, not the size of the outbox (index on status and due time).
    """
    now = timezone.now()
    stale = Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=now - STALE_CLAIM)
    # A row whose worker died mid-send again and again stops being retried, like any other failure.
    stale.filter(attempts__gte=MAX_ATTEMPTS).update(status=Delivery.Status.FAILED, claimed_at=None,
                                                    last_error="the worker stopped while sending, too many times")
    stale.update(status=Delivery.Status.QUEUED, claimed_at=None)
    due = list(Delivery.objects.filter(status=Delivery.Status.QUEUED, due_at__lte=now - SWEEP_GRACE)
               .order_by("due_at").values_list("pk", flat=True)[:limit])
    _enqueue(due)
    return due


@transaction.atomic
def delivery_retry(*, delivery_id: int) -> None:
    """An administrator sends a failed delivery again."""
    updated = Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.QUEUED, due_at=timezone.now(), attempts=0, claimed_at=None)
    if updated:
        transaction.on_commit(lambda: _enqueue([delivery_id]))


def notifications_mark_read(*, user: AbstractBaseUser, delivery_ids: list[int] | None = None) -> int:
    """Mark a person's in-app notifications (all, or the given ones) as read."""
    rows = Delivery.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True)
    if delivery_ids is not None:
        rows = rows.filter(pk__in=delivery_ids)
    return rows.update(read_at=timezone.now())

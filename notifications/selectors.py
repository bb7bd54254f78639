"""Reads of notifications: a person's in-app list and bell, and the administrators' view of the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet

from .models import Channel, ChannelHealth, ChannelPreference, Delivery

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

STATUSES = tuple(Delivery.Status)


def notifications_of(user: AbstractBaseUser) -> QuerySet[Delivery]:
    """A person's in-app notifications, newest first, with what rendering them reads."""
    return (Delivery.objects.filter(recipient=user, channel=Channel.IN_APP)
            .select_related("event__application__community", "recipient")
            .order_by("-created_at", "-id"))


def unread_count(user: AbstractBaseUser) -> int:
    """How many of a person's in-app notifications are unread (one query on the `delivery_inbox` index)."""
    return Delivery.objects.filter(recipient=user, channel=Channel.IN_APP, read_at__isnull=True).count()


def preference_of(user: AbstractBaseUser) -> ChannelPreference:
    """A person's channel preference; the defaults (unsaved) when they never chose."""
    return ChannelPreference.objects.filter(user=user).first() or ChannelPreference(user=user)


@dataclass
class ChannelRow:
    """One channel on the operations page: its deliveries by status and its health."""

    channel: Channel
    counts: dict[str, int] = field(default_factory=dict)
    health: ChannelHealth | None = None

    @property
    def by_status(self) -> list[tuple[Delivery.Status, int]]:
        return [(status, self.counts.get(status, 0)) for status in STATUSES]


def channel_overview() -> list[ChannelRow]:
    """Per channel: how many deliveries are queued, sending, sent and failed, and its last success and error."""
    # Two queries: counts grouped by channel and status (the `delivery_due` index starts with status), health.
    rows = {channel: ChannelRow(channel) for channel in Channel}
    for item in Delivery.objects.order_by().values("channel", "status").annotate(n=Count("id")):
        if item["channel"] in rows:
            rows[item["channel"]].counts[item["status"]] = item["n"]
    for health in ChannelHealth.objects.all():
        if health.channel in rows:
            rows[health.channel].health = health
    return list(rows.values())


def deliveries_failing() -> QuerySet[Delivery]:
    """Deliveries that failed for good, or that failed at least once and wait for their next try."""
    return (Delivery.objects
            .filter(Q(status=Delivery.Status.FAILED) | Q(status=Delivery.Status.QUEUED) & ~Q(last_error=""))
            .select_related("event", "recipient")
            .order_by("status", "-created_at", "-id"))  # "failed" sorts before "queued"

"""The page header: the bell (unread in-app notifications) and the inbox and queue badges."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from .selectors import unread_count

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

# Badges show at most this many tasks, then "99+": counting a long queue exactly on every page costs too much.
BADGE_CAP = 99
# A task page that has counted its own list for its paginator leaves the count here for the badge.
KNOWN_TASK_COUNTS = "known_task_counts"


class Bell:
    """Counts only when a template shows it (one query), so pages without the bell pay nothing."""

    def __init__(self, user: AbstractBaseUser) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self.user)


def _badge(count: int) -> str:
    return f"{BADGE_CAP}+" if count > BADGE_CAP else str(count)


class TaskBadges:
    """The inbox and queue counts of the header, each read only when shown and capped at BADGE_CAP."""

    def __init__(self, user: AbstractBaseUser, known: dict[str, int]) -> None:
        self.user = user
        self.known = known

    def _count(self, which: str) -> str:
        from workflows.selectors import tasks_count_capped, tasks_inbox, tasks_queue

        if which in self.known:  # the page's own list, counted once already
            return _badge(self.known[which])
        tasks = tasks_inbox(self.user) if which == "inbox" else tasks_queue(self.user)
        return _badge(tasks_count_capped(tasks, BADGE_CAP))

    @cached_property
    def inbox(self) -> str:
        return self._count("inbox")

    @cached_property
    def queue(self) -> str:
        return self._count("queue")


def bell(request: HttpRequest) -> dict[str, Bell | TaskBadges]:
    """`bell` and `task_badges` for logged-in people (`{{ bell.unread }}`, `{{ task_badges.inbox }}`)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"bell": Bell(user), "task_badges": TaskBadges(user, getattr(request, KNOWN_TASK_COUNTS, {}))}

"""The bell in the page header: the logged-in person's unread in-app notifications."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from .selectors import unread_count

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest


class Bell:
    """Counts only when a template shows it (one query), so pages without the bell pay nothing."""

    def __init__(self, user: AbstractBaseUser) -> None:
        self.user = user

    @cached_property
    def unread(self) -> int:
        return unread_count(self.user)


def bell(request: HttpRequest) -> dict[str, Bell]:
    """`bell` for logged-in people (`{{ bell.unread }}`); nothing for visitors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"bell": Bell(user)}

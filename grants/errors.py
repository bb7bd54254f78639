"""The one error type for broken business rules, turned into messages by views and 4xx bodies by the API."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule said no; `message` is translated for people, `code` is stable for machines."""

    http_status = 400

    def __init__(self, message: str, *, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = str(message)
        self.code = code
        self.field = field

    def __str__(self) -> str:
        return self.message


class ActionForbidden(ApplicationError):
    """The person may not take this action on this application (role, scope, duties or conflict)."""

    http_status = 403


class ApplicationConflict(ApplicationError):
    """Somebody else changed the application first, or the money ran out: try again from fresh data."""

    http_status = 409

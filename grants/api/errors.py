"""Every API error as JSON `{"code", "message", "field"}`: the stable code, the translated message, the field.

Business refusals (grants.errors) keep their status (ApplicationError 400, ActionForbidden 403,
ApplicationConflict 409); a model's ValidationError raised inside a service is 400 with its field; DRF's own
errors (parsing, validation, authentication, 404, 405, ...) keep their status. When several fields are
wrong, `errors` lists each; the top-level code, message and field are the first of them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from ..errors import ApplicationError

Problem = dict[str, Any]


def problem(code: str, message: object, field: str | None = None) -> Problem:
    return {"code": str(code), "message": str(message), "field": field}


def body(problems: list[Problem]) -> dict[str, Any]:
    """The response body: the first problem at the top, all of them under `errors` when there are several."""
    data = dict(problems[0])
    if len(problems) > 1:
        data["errors"] = problems
    return data


def _field(path: str | None) -> str | None:
    return None if path in (None, "", NON_FIELD_ERRORS, api_settings.NON_FIELD_ERRORS_KEY) else path


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _drf_problems(detail: Any, prefix: str = "") -> list[Problem]:
    """Flatten DRF's nested error detail into problems; the field is a dotted path (`budget_lines.1.amount`)."""
    if isinstance(detail, dict):
        return [found for key, value in detail.items() for found in _drf_problems(value, _join(prefix, key))]
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail | str) for item in detail):
            return [problem(getattr(item, "code", "invalid"), item, _field(prefix)) for item in detail]
        # A list of nested objects (one per budget line, say): the index becomes part of the path.
        return [found for index, item in enumerate(detail) if item
                for found in _drf_problems(item, _join(prefix, index))]
    return [problem(getattr(detail, "code", "invalid"), detail, _field(prefix))]


def _django_problems(exc: DjangoValidationError) -> list[Problem]:
    if hasattr(exc, "error_dict"):
        return [problem(error.code or "invalid", message, _field(name))
                for name, errors in exc.error_dict.items() for error in errors for message in error]
    return [problem(error.code or "invalid", message) for error in exc.error_list for message in error]


def _renamed(problems: list[Problem], names: dict[str, str]) -> list[Problem]:
    return [{**found, "field": names.get(found["field"], found["field"])} for found in problems]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: the JSON error body for every error an API view raises.

    A view's `error_fields` renames the fields services name (`beneficiaries`) to its inputs' names.
    """
    names = getattr(context.get("view"), "error_fields", {})
    if isinstance(exc, ApplicationError):
        return Response(body(_renamed([problem(exc.code, exc.message, exc.field)], names)), status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        problems = _django_problems(exc) or [problem("invalid", _("The data is not valid."))]
        return Response(body(_renamed(problems, names)), status=status.HTTP_400_BAD_REQUEST)
    # DRF turns Http404 and Django's PermissionDenied into its own exceptions and sets the headers
    # (WWW-Authenticate on 401, Retry-After on 429); only the body is ours.
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        problems = _drf_problems(exc.detail)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes()
        problems = [problem(code if isinstance(code, str) else exc.default_code, exc.detail)]
    else:  # Http404 or PermissionDenied of Django
        code = "not_found" if response.status_code == status.HTTP_404_NOT_FOUND else "permission_denied"
        message = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        problems = [problem(code, message)]
    response.data = body(problems or [problem("invalid", _("The data is not valid."))])
    return response


@csrf_exempt
def not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """Any URL under /api/v1/ that names nothing: the JSON 404 instead of the site's page, whatever the method."""
    return JsonResponse(problem("not_found", _("No such address in the API.")), status=status.HTTP_404_NOT_FOUND)

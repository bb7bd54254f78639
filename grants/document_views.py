"""The printable documents of an application (grants.documents): the grant agreement and the completion certificate.

Out of the person's scope: 404. Not (yet) available in the application's state: its page with the reason, 409.
The CJK font missing on the server: its page with the reason, 503 (never a PDF of boxes).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from . import documents
from .models import GrantApplication
from .views import application_context, render_page, visible_application

logger = logging.getLogger(__name__)


@login_required
@require_safe
def agreement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The grant agreement, from the agreement step on."""
    application = visible_application(request.user, pk)
    if not documents.agreement_available(application):
        return _unavailable(request, application, _(
            "The grant agreement can be printed once the grant is approved and its publicity period is over."))
    return _pdf(request, application, documents.agreement_pdf, "agreement")


@login_required
@require_safe
def certificate_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The completion certificate of a closed project."""
    application = visible_application(request.user, pk)
    if not documents.certificate_available(application):
        return _unavailable(request, application, _(
            "The completion certificate can be printed once the project is closed."))
    return _pdf(request, application, documents.certificate_pdf, "certificate")


def _pdf(request: HttpRequest, application: GrantApplication, build: Callable[[GrantApplication], bytes],
         kind: str) -> HttpResponse:
    try:
        content = build(application)
    except documents.FontMissing as exc:
        logger.error("cannot print the %s of application %s: %s", kind, application.pk, exc)
        return _unavailable(request, application, _(
            "Documents cannot be printed right now: the Chinese font is not installed on the server. "
            "Please tell the administrator."), status=503)
    filename = f"{kind}-{documents.grant_reference(application)}.pdf"
    response = FileResponse(io.BytesIO(content), content_type="application/pdf", filename=filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _unavailable(request: HttpRequest, application: GrantApplication, message: str, *,
                 status: int = 409) -> HttpResponse:
    """The application's page with the reason the document cannot be printed."""
    return render_page(request, "grants/application_detail.html",
                       application_context(request, application, page_error=message), status=status)

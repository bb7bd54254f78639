"""Pages of the bank statement import: upload and preview, confirm, and the imported donations.

The checked file waits in the person's session between preview and confirmation (named by its SHA-256),
so the confirmation imports exactly the bytes that were shown, after checking them once more.
"""

from __future__ import annotations

import base64
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import ActionForbidden, ApplicationError
from .import_forms import StatementConfirmForm, StatementUploadForm
from .models import Donation, Fund, Role
from .permissions import role_keys
from .services.imports import (
    COLUMNS,
    ImportPreview,
    bank_statement_import,
    bank_statement_parse,
    content_digest,
    statement_import_denial,
)
from .views import forbidden, render_page

PENDING = "bank_statement_import"
DONE = "bank_statement_imported"
TEMPLATE = "grants/imports/statement.html"


def _fund(request: HttpRequest, fund_code: str) -> Fund | HttpResponse:
    """The fund, or the 403 page for anyone but its foundation's finance staff."""
    fund = Fund.objects.select_related("foundation").filter(code=fund_code).first()
    if fund is None:
        raise Http404(_("No such fund."))
    denial = statement_import_denial(request.user, fund)
    return forbidden(request, denial) if denial else fund


def _page(request: HttpRequest, fund: Fund, *, form: StatementUploadForm | None = None,
          preview: ImportPreview | None = None, page_error: str = "", status: int = 200) -> HttpResponse:
    context: dict[str, Any] = {
        "fund": fund, "form": form or StatementUploadForm(), "preview": preview, "page_error": page_error,
        "columns": COLUMNS,
        "confirm_form": (StatementConfirmForm(initial={"digest": preview.digest})
                         if preview is not None and preview.is_importable else None),
    }
    return render_page(request, TEMPLATE, context, status=status)


@login_required
def statement_import_start(request: HttpRequest) -> HttpResponse:
    """Finance picks the fund to import into (or goes straight to it when they serve only one)."""
    foundations = [org for role, _scope, org in role_keys(request.user) if role == Role.FINANCE]
    funds = list(Fund.objects.filter(foundation_id__in=foundations).order_by("name"))
    if not funds:
        return forbidden(request, _("Only finance staff of the foundation may import bank statements."))
    if len(funds) == 1:
        return redirect("donations:statement_import", fund_code=funds[0].code)
    return render_page(request, "grants/imports/choose_fund.html", {"funds": funds})


@login_required
def statement_import(request: HttpRequest, fund_code: str) -> HttpResponse:
    """Upload a statement and see every row checked; nothing is written here."""
    fund = _fund(request, fund_code)
    if isinstance(fund, HttpResponse):
        return fund
    if request.method != "POST":
        return _page(request, fund)
    form = StatementUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, fund, form=form, status=400)
    upload = form.cleaned_data["file"]
    content = upload.read()
    try:
        preview = bank_statement_parse(fund=fund, filename=upload.name, content=content)
    except ApplicationError as exc:
        form.add_error("file", exc.message)
        return _page(request, fund, form=form, status=exc.http_status)
    if not preview.is_importable:
        request.session.pop(PENDING, None)
        return _page(request, fund, preview=preview, status=400)
    # A new upload replaces any earlier one waiting for confirmation.
    request.session[PENDING] = {"fund": fund.pk, "digest": preview.digest, "filename": upload.name,
                                "content": base64.b64encode(content).decode("ascii")}
    return _page(request, fund, preview=preview)


@login_required
@require_POST
def statement_import_confirm(request: HttpRequest, fund_code: str) -> HttpResponse:
    """Import the checked file waiting in the session: every row in one transaction, or none."""
    fund = _fund(request, fund_code)
    if isinstance(fund, HttpResponse):
        return fund
    form = StatementConfirmForm(request.POST)
    pending = request.session.get(PENDING) or {}
    content = base64.b64decode(pending.get("content", ""))
    if (not form.is_valid() or pending.get("fund") != fund.pk or pending.get("digest") != form.cleaned_data["digest"]
            or content_digest(content) != pending["digest"]):
        return _page(request, fund, status=409, page_error=_(
            "This file is no longer waiting for confirmation (it was imported, or another file was uploaded "
            "since). Upload it again."))
    try:
        # Checked again: another import may have recorded some of these bank references since the preview.
        preview = bank_statement_parse(fund=fund, filename=pending["filename"], content=content)
        if not preview.is_importable:
            return _page(request, fund, preview=preview, status=409, page_error=_(
                "Something changed since the preview; nothing was imported. See the lines below."))
        donations = bank_statement_import(actor=request.user, fund=fund, preview=preview)
    except ActionForbidden as exc:
        return forbidden(request, exc.message)
    except ApplicationError as exc:
        return _page(request, fund, status=exc.http_status, page_error=exc.message)
    del request.session[PENDING]
    request.session[DONE] = {"fund": fund.pk, "ids": [donation.pk for donation in donations]}
    messages.success(request, _("%(count)d donations (%(total)s yuan) were imported from %(file)s.")
                     % {"count": len(donations), "total": preview.total, "file": preview.filename})
    return redirect("donations:statement_imported", fund_code=fund.code)


@login_required
def statement_imported(request: HttpRequest, fund_code: str) -> HttpResponse:
    """The donations of the person's last import into the fund, with their receipt numbers."""
    fund = _fund(request, fund_code)
    if isinstance(fund, HttpResponse):
        return fund
    done = request.session.get(DONE) or {}
    ids = done.get("ids", []) if done.get("fund") == fund.pk else []
    donations = (Donation.objects.filter(fund=fund, pk__in=ids, source=Donation.Source.BANK_IMPORT)
                 .select_related("restricted_category", "restricted_community").order_by("pk"))
    return render_page(request, "grants/imports/imported.html", {"fund": fund, "donations": donations})

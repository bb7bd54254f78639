"""Finance pages of a fund: donations, tranches, refunds, management fees, and the fund statement.

Thin like grants.views: resolve the fund the person may see, check the role, call one service or read the
selectors, render. Finance of the fund's foundation may change; auditors (and administrators) may look;
other foundation staff see only the statement; anyone else gets 404, so funds are never revealed.
Business refusals (grants.errors) are shown where they happened, with their status code.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import services
from .charts import Series, step_chart
from .errors import ActionForbidden, ApplicationError
from .exports import statement_filename, statement_lines, write_statement_xlsx
from .models import Community, Donation, Fund, Role, Tranche
from .money_forms import DonationForm, ManagementFeeForm, PayForm, PeriodForm, ReceiveForm, RefundForm
from .pagination import paginate
from .permissions import holds_foundation_role
from .selectors import (
    fund_balance_series,
    fund_donations,
    fund_statement,
    funds_visible_to,
    ledger_entries,
    paid_tranches,
    payable_tranches,
    refundable_applications,
    totals_by_category,
    totals_by_community,
    yearly_indicators,
)
from .views import forbidden, person_name, render_page

if TYPE_CHECKING:
    from django import forms

    from .selectors.money import Totals, YearlyIndicators

LEDGER_PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- Who may do what ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """What the person may do with one fund's money pages."""

    fund: Fund
    may_change: bool  # finance of the fund's foundation: records and pays
    may_view_finance: bool  # finance, auditors and administrators: the donation and tranche pages

    @classmethod
    def of(cls, user: Any, fund: Fund) -> Access:
        finance = holds_foundation_role(user, Role.FINANCE, fund.foundation_id)
        auditor = holds_foundation_role(user, Role.AUDITOR, fund.foundation_id)
        return cls(fund=fund, may_change=finance,
                   may_view_finance=finance or auditor or getattr(user, "is_superuser", False))


def visible_fund(request: HttpRequest, fund_id: int) -> Fund:
    """The fund if the person works for its foundation; 404 otherwise, so its existence is not revealed."""
    return get_object_or_404(funds_visible_to(request.user).select_related("foundation"), pk=fund_id)


FinanceView = Callable[..., HttpResponse]


def finance_page(*, change: bool) -> Callable[[FinanceView], FinanceView]:
    """A page of finance's work on one fund: `change` pages are for finance only, the others also for auditors.

    The view is called with the request, the person's `Access` and the rest of the URL's arguments.
    """

    def decorate(view: FinanceView) -> FinanceView:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, fund_id: int, **kwargs: Any) -> HttpResponse:
            access = Access.of(request.user, visible_fund(request, fund_id))
            if change and not access.may_change:
                return forbidden(request, _("Only finance staff of the foundation may record or pay money."))
            if not access.may_view_finance:
                return forbidden(request, _("Only finance staff and auditors of the foundation may see this page."))
            return view(request, access, **kwargs)

        return wrapper

    return decorate


def show_refusal(form: forms.Form, exc: ApplicationError) -> None:
    """Put a service's translated refusal on the field it names, or above the form."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def show_invalid(form: forms.Form, exc: ValidationError) -> None:
    """Put a model's ValidationError raised inside a service (its full_clean) onto the form's fields."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- The money pages' start --------------------------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """The funds whose money the person may see, with their balances and the pages open to them."""
    funds = list(funds_visible_to(request.user).select_related("foundation", "balance").order_by("name"))
    if not funds:
        return forbidden(request, _("Only staff of a foundation may see its funds' money."))
    rows = [(fund, Access.of(request.user, fund)) for fund in funds]
    return render_page(request, "grants/money/index.html", {"rows": rows}, active="money")


# --- Donations -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DonationRow:
    donation: Donation
    donor: str  # the name as recorded for finance, the public name for everyone else
    receive_form: ReceiveForm | None


def _donation_page(request: HttpRequest, access: Access, *, failed: Donation | None = None,
                   failed_form: ReceiveForm | None = None, page_error: str = "", status: int = 200) -> HttpResponse:
    page = paginate(request, fund_donations(access.fund))
    rows = []
    for donation in page.object_list:
        form = None
        if access.may_change and donation.status == Donation.Status.PLEDGED:
            form = failed_form if failed is not None and donation.pk == failed.pk else ReceiveForm(
                auto_id=f"id_receive_{donation.pk}_%s")
        rows.append(DonationRow(donation, donation.donor_name if access.may_change else donation.public_name, form))
    return render_page(request, "grants/money/donations.html", {
        "access": access, "fund": access.fund, "page": page, "rows": rows, "page_error": page_error,
        "tab": "donations"}, status=status, active="money")


@finance_page(change=False)
def donation_list(request: HttpRequest, access: Access) -> HttpResponse:
    """The fund's donations, newest first; finance sees each donor as recorded, others the public name."""
    return _donation_page(request, access)


def _donation_form(fund: Fund, data: Any = None) -> DonationForm:
    return DonationForm(data, categories=fund.categories.all(), communities=Community.objects.all())


@finance_page(change=True)
def donation_create(request: HttpRequest, access: Access) -> HttpResponse:
    """Finance records a gift (grants.services.donation_record); with an arrival date it is receipted."""
    fund = access.fund
    form = _donation_form(fund, request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                donation = services.donation_record(actor=request.user, fund=fund, **form.cleaned_data)
            except ActionForbidden as exc:
                return forbidden(request, exc.message)
            except ApplicationError as exc:
                show_refusal(form, exc)
                status = exc.http_status
            except ValidationError as exc:
                show_invalid(form, exc)
            else:
                if donation.receipt_number:
                    messages.success(request, _("The donation was recorded; receipt number %(number)s.")
                                     % {"number": donation.receipt_number})
                else:
                    messages.success(request, _("The announced donation was recorded; mark it as arrived "
                                                "when the money is in the account."))
                return redirect("money:donations", fund_id=fund.pk)
    return render_page(request, "grants/money/donation_form.html",
                       {"access": access, "fund": fund, "form": form, "tab": "donations"},
                       status=status, active="money")


@finance_page(change=True)
@require_POST
def donation_receive(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    """The announced money arrived (grants.services.donation_receive): it is posted and receipted."""
    donation = get_object_or_404(Donation, fund=access.fund, pk=pk)
    form = ReceiveForm(request.POST, auto_id=f"id_receive_{pk}_%s")
    if not form.is_valid():
        return _donation_page(request, access, failed=donation, failed_form=form, status=400)
    try:
        donation = services.donation_receive(actor=request.user, donation=donation,
                                             received_on=form.cleaned_data["received_on"])
    except ActionForbidden as exc:
        return forbidden(request, exc.message)
    except ApplicationError as exc:
        show_refusal(form, exc)
        return _donation_page(request, access, failed=donation, failed_form=form, page_error=exc.message,
                              status=exc.http_status)
    messages.success(request, _("The donation arrived; receipt number %(number)s.")
                     % {"number": donation.receipt_number})
    return redirect("money:donations", fund_id=access.fund.pk)


# --- Tranches ------------------------------------------------------------------------------------------------


def _tranche_page(request: HttpRequest, access: Access, *, failed: Tranche | None = None,
                  failed_form: PayForm | None = None, status: int = 200) -> HttpResponse:
    rows = []
    for tranche in payable_tranches(access.fund):
        form = None
        if access.may_change:
            form = failed_form if failed is not None and tranche.pk == failed.pk else PayForm(
                auto_id=f"id_pay_{tranche.pk}_%s")
        rows.append((tranche, form))
    paid = paginate(request, paid_tranches(access.fund))
    return render_page(request, "grants/money/tranches.html", {
        "access": access, "fund": access.fund, "payable": rows, "page": paid,
        "paid_rows": [(tranche, person_name(tranche.paid_by)) for tranche in paid.object_list],
        "tab": "tranches"}, status=status, active="money")


@finance_page(change=False)
def tranche_list(request: HttpRequest, access: Access) -> HttpResponse:
    """Tranches whose condition is met and wait for payment, and the tranches already paid."""
    return _tranche_page(request, access)


@finance_page(change=True)
@require_POST
def tranche_pay(request: HttpRequest, access: Access, pk: int) -> HttpResponse:
    """Finance pays one tranche with the bank transfer's reference (grants.services.tranche_pay).

    The service refuses whoever signed the grant's approval; the refusal is shown on the tranche's row.
    """
    tranche = get_object_or_404(Tranche.objects.select_related("application__fund"), application__fund=access.fund,
                                pk=pk)
    form = PayForm(request.POST, auto_id=f"id_pay_{pk}_%s")
    if not form.is_valid():
        return _tranche_page(request, access, failed=tranche, failed_form=form, status=400)
    try:
        tranche = services.tranche_pay(actor=request.user, tranche=tranche,
                                       bank_reference=form.cleaned_data["bank_reference"])
    except ApplicationError as exc:
        show_refusal(form, exc)
        return _tranche_page(request, access, failed=tranche, failed_form=form, status=exc.http_status)
    messages.success(request, _("Tranche %(number)s of “%(title)s” was paid (bank reference %(ref)s).") % {
        "number": tranche.number, "title": tranche.application.title, "ref": tranche.bank_reference})
    return redirect("money:tranches", fund_id=access.fund.pk)


# --- Refunds and management fees ------------------------------------------------------------------------------


def _form_page(request: HttpRequest, access: Access, form: forms.Form, *, title: str, intro: str, tab: str,
               status: int) -> HttpResponse:
    return render_page(request, "grants/money/form_page.html", {
        "access": access, "fund": access.fund, "form": form, "title": title, "intro": intro, "tab": tab},
        status=status, active="money")


@finance_page(change=True)
def refund_create(request: HttpRequest, access: Access) -> HttpResponse:
    """Finance records money a project returned to the fund (grants.services.refund_receive)."""
    fund = access.fund
    initial = {"application": request.GET.get("application")} if request.GET.get("application") else None
    form = RefundForm(request.POST if request.method == "POST" else None, initial=initial,
                      applications=refundable_applications(fund))
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                services.refund_receive(actor=request.user, **form.cleaned_data)
            except ActionForbidden as exc:
                return forbidden(request, exc.message)
            except ApplicationError as exc:
                show_refusal(form, exc)
                status = exc.http_status
            else:
                messages.success(request, _("%(amount)s yuan returned by “%(title)s” were recorded.") % {
                    "amount": form.cleaned_data["amount"], "title": form.cleaned_data["application"].title})
                return redirect("money:tranches", fund_id=fund.pk)
    return _form_page(request, access, form, title=_("Record money returned by a project"), tab="refund",
                      intro=_("Unspent or reclaimed money that came back from a project into the fund."),
                      status=status)


@finance_page(change=True)
def management_fee_create(request: HttpRequest, access: Access) -> HttpResponse:
    """Finance charges the foundation's management fee to the fund (grants.services.management_fee_charge)."""
    fund = access.fund
    form = ManagementFeeForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_bound:
        status = 400
        if form.is_valid():
            try:
                services.management_fee_charge(actor=request.user, fund=fund, **form.cleaned_data)
            except ActionForbidden as exc:
                return forbidden(request, exc.message)
            except ApplicationError as exc:
                show_refusal(form, exc)
                status = exc.http_status
            else:
                messages.success(request, _("The management fee of %(amount)s yuan was charged.")
                                 % {"amount": form.cleaned_data["amount"]})
                return redirect("money:statement", fund_id=fund.pk)
    return _form_page(request, access, form, title=_("Charge the management fee"), tab="fee",
                      # xgettext:no-python-format
                      intro=_("The foundation's management cost charged to this fund; it counts against "
                              "the 10% limit of the year's spending."), status=status)


# --- Statement ------------------------------------------------------------------------------------------------


# The chart's lines: (running total, label, colour, dash pattern, width); dashes tell them apart without colour.
CHART_LINES = (
    ("received_total", gettext_lazy("Donations received to date"), "#1a7f37", "", 2),
    ("committed_total", gettext_lazy("Committed to date"), "#8250df", "8 4", 2),
    ("paid_total", gettext_lazy("Paid to date"), "#0969da", "2 3", 2.5),
    ("available", gettext_lazy("Available"), "#b71c1c", "", 3.5),
)


def balance_chart(fund: Fund, *, start: dt.date, end: dt.date, opening: Totals) -> SafeString:
    """The chart of income, commitments, payments and the available balance over the period (one query)."""
    points = fund_balance_series(fund, start=start, end=end)
    series = [Series(label=str(label), colour=colour, dash=dash, width=width,
                     points=[(start, getattr(opening, name)),
                             *((point.day, getattr(point.totals, name)) for point in points)])
              for name, label, colour, dash, width in CHART_LINES]
    return step_chart(series, start=start, end=end,
                      title=_("%(fund)s: money over time") % {"fund": fund.name},
                      description=_("Donations received, money committed by approvals, money paid to projects and "
                                    "the available balance, from %(start)s to %(end)s, in yuan.")
                      % {"start": start.isoformat(), "end": end.isoformat()})


@dataclass(frozen=True)
class IndicatorRow:
    """One legal ratio as the page shows it: the figure, what it is compared with, and the verdict."""

    label: str
    figure: Decimal
    figure_label: str
    base: Decimal
    base_label: str
    percent: Decimal | None
    rule: str
    ok: bool | None
    not_applicable: str


def indicator_rows(indicators: YearlyIndicators) -> list[IndicatorRow]:
    """The two ratios of Charity Law Art 61 with their thresholds, from grants.selectors.yearly_indicators."""
    year = indicators.year

    def percent(ratio: Decimal | None) -> Decimal | None:
        return None if ratio is None else ratio * 100

    return [
        IndicatorRow(
            label=_("Charitable spending vs last year's income"),
            figure=indicators.charitable_spending,
            figure_label=_("paid less returned in %(year)s") % {"year": year},
            base=indicators.last_year_income, base_label=_("received in %(year)s") % {"year": year - 1},
            percent=percent(indicators.spending_ratio), rule=_("at least 70%"), ok=indicators.spending_ok,
            not_applicable=_("no income last year")),
        IndicatorRow(
            label=_("Management cost vs the year's spending"),
            figure=indicators.management_cost,
            figure_label=_("management fees in %(year)s") % {"year": year},
            base=indicators.charitable_spending + indicators.management_cost,
            base_label=_("charitable spending and management cost"),
            percent=percent(indicators.management_ratio), rule=_("at most 10%"), ok=indicators.management_ok,
            not_applicable=_("nothing spent yet")),
    ]


def _period(request: HttpRequest) -> tuple[PeriodForm, dt.date, dt.date]:
    """The period asked for (?start=&end=), or the year so far; the form shows the period used, or its errors."""
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    if not form.is_bound or form.is_valid():
        form = PeriodForm(initial={"start": start, "end": end})
    return form, start, end


@login_required
def statement(request: HttpRequest, fund_id: int) -> HttpResponse:
    """The fund's statement for a period: totals, chart, per community and category, legal ratios, entries.

    A fixed number of queries whatever the number of entries: each read below is one query.
    """
    fund = visible_fund(request, fund_id)
    access = Access.of(request.user, fund)
    form, start, end = _period(request)
    report = fund_statement(fund, start=start, end=end)
    indicators = yearly_indicators(fund.foundation_id, end.year)
    return render_page(request, "grants/money/statement.html", {
        "access": access,
        "fund": fund,
        "tab": "statement",
        "form": form,
        "start": start,
        "end": end,
        "statement": report,
        "lines": statement_lines(report),
        "chart": balance_chart(fund, start=start, end=end, opening=report.opening),
        "totals": [(_("By community"), totals_by_community(fund)),
                   (_("By service category"), totals_by_category(fund))],
        "indicators": indicators,
        "indicator_rows": indicator_rows(indicators),
        "page": paginate(request, ledger_entries(fund, start=start, end=end), LEDGER_PAGE_SIZE),
    }, status=400 if form.is_bound else 200, active="money")


@login_required
def statement_xlsx(request: HttpRequest, fund_id: int) -> FileResponse:
    """The statement of the period as an XLSX download: the summary and every entry of the period."""
    fund = visible_fund(request, fund_id)
    _form, start, end = _period(request)
    report = fund_statement(fund, start=start, end=end)
    # Spooled: small workbooks stay in memory, big ones go to a temporary file; either is streamed in chunks.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # FileResponse closes it
    write_statement_xlsx(report, ledger_entries(fund, start=start, end=end).iterator(chunk_size=2000), out)
    out.seek(0)
    response = FileResponse(out, as_attachment=True, filename=statement_filename(report), content_type=XLSX)
    response["Cache-Control"] = "private, no-store"
    return response

"""The public page: no login, read-only except for filing an objection; thin like grants.views.

Pages read grants.public.selectors (only what is disclosed), the objection calls grants.services.objection_file,
donation tracing reads grants.public.tracing. The two forms are rate-limited per client address
(django-ratelimit, counted in settings.CACHES); the objection form also asks a captcha.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods
from django_ratelimit.decorators import ratelimit

from .. import services
from ..charts import Series, step_chart
from ..errors import ApplicationError
from ..models import Attachment, Fund, GrantApplication
from ..pagination import paginate
from ..states import State
from . import opendata
from .forms import ObjectionForm, TraceForm
from .selectors import (
    PUBLIC_STATES,
    FundOverview,
    applicant_communities,
    fund_overview,
    public_applications,
    public_funds,
    public_project,
    public_projects,
    publicity_rows,
    results_summary,
    served_counts,
)
from .tracing import donation_trace, find_donation

# The public chart's lines: (running total, label, colour, dash pattern, width), as on the finance statement.
CHART_LINES = (
    ("received_total", gettext_lazy("Donations received to date"), "#1a7f37", "", 2),
    ("paid_total", gettext_lazy("Paid to projects to date"), "#0969da", "2 3", 2.5),
    ("available", gettext_lazy("Available for new grants"), "#b71c1c", "", 3.5),
)


def objection_rate(group: str, request: HttpRequest) -> str:
    return settings.PUBLIC_OBJECTION_RATE


def trace_rate(group: str, request: HttpRequest) -> str:
    return settings.PUBLIC_TRACE_RATE


def page(request: HttpRequest, template: str, context: dict[str, Any], *, tab: str, status: int = 200) -> HttpResponse:
    """Render a public page with its tab bar."""
    return render(request, f"grants/public/{template}", {"tab": tab, **context}, status=status)


def money_chart(overview: FundOverview) -> SafeString | None:
    """The fund's income, payments and available balance over its whole life (grants.charts; no extra query)."""
    if not overview.series:
        return None
    start = overview.series[0].day - dt.timedelta(days=1)  # a day of zeros before the first money arrived
    end = max(timezone.localdate(), overview.series[-1].day)
    lines = [Series(label=str(label), colour=colour, dash=dash, width=width,
                    points=[(start, 0), *((p.day, getattr(p.totals, name)) for p in overview.series)])
             for name, label, colour, dash, width in CHART_LINES]
    return step_chart(lines, start=start, end=end,
                      title=_("%(fund)s: money over time") % {"fund": overview.fund.name},
                      description=_("Donations received, money paid to projects and the balance available for new "
                                    "grants, from %(start)s to %(end)s, in yuan.")
                      % {"start": start.isoformat(), "end": end.isoformat()})


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """The fund(s): what they fund, how to apply, their money with a chart, and the donors who may be thanked."""
    documents = dict(Attachment.Kind.choices)
    funds = []
    for fund in public_funds():
        overview = fund_overview(fund)
        funds.append({"overview": overview, "chart": money_chart(overview),
                      "documents": [documents.get(kind, kind) for kind in fund.required_documents or []]})
    return page(request, "index.html", {"funds": funds, "communities": applicant_communities()}, tab="index")


@require_GET
def publicity(request: HttpRequest) -> HttpResponse:
    """Grants in publicity, with their last day, the working days left and a link to object."""
    return page(request, "publicity.html", {"rows": publicity_rows()}, tab="publicity")


@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=objection_rate, method="POST", block=False)
def objection(request: HttpRequest, pk: int) -> HttpResponse:
    """Anyone may object to a grant in publicity (captcha, rate-limited); the grant pauses for examination."""
    application = _public_or_404(public_applications().filter(status__in=[State.PUBLICITY, State.OBJECTION])
                                 .select_related("fund", "community__street_office", "category"), pk)
    context: dict[str, Any] = {"application": application}
    if request.method != "POST":
        return page(request, "objection.html", {**context, "form": ObjectionForm()}, tab="publicity")
    if getattr(request, "limited", False):
        return page(request, "objection.html", {**context, "form": ObjectionForm(), "limited": True},
                    tab="publicity", status=429)
    form = ObjectionForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.objection_file(application=application, text=form.cleaned_data["text"],
                                    contact=form.cleaned_data["contact"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
            status = exc.http_status
        else:
            messages.success(request, _("Your objection was received. The grant is paused while the foundation "
                                        "examines it."))
            return redirect("public:publicity")
    # Shown again with the answers given; the captcha widget draws a new picture (each is good for one try).
    return page(request, "objection.html", {**context, "form": form}, tab="publicity", status=status)


def _public_or_404(queryset: Any, pk: int) -> GrantApplication:
    try:
        return queryset.get(pk=pk)
    except GrantApplication.DoesNotExist:
        raise Http404(_("No such grant.")) from None


@require_GET
def projects(request: HttpRequest) -> HttpResponse:
    """Every funded project (publicity onward), newest first, with its money, state and results."""
    funds = list(Fund.objects.order_by("pk"))
    fund = next((f for f in funds if str(f.pk) == request.GET.get("fund")), None)
    status = request.GET.get("status") if request.GET.get("status") in PUBLIC_STATES else None
    page_obj = paginate(request, public_projects(fund=fund, status=status))
    rows = [{"application": a, "results": results_summary(a)} for a in page_obj.object_list]
    return page(request, "projects.html", {
        "page": page_obj, "rows": rows, "funds": funds, "fund": fund, "status": status,
        "states": [(s.value, s.label) for s in PUBLIC_STATES],
    }, tab="projects")


@require_GET
def project(request: HttpRequest, pk: int) -> HttpResponse:
    """One funded project: community, category, amounts, dates, state, payments, people reached and results."""
    try:
        application = public_project(pk)
    except GrantApplication.DoesNotExist:
        raise Http404(_("No such grant.")) from None
    return page(request, "project.html", {
        "application": application, "results": results_summary(application),
        "served": served_counts(application), "open_data_id": opendata.grant_id(application),
    }, tab="projects")


@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit(key="ip", rate=trace_rate, method="POST", block=False)
def trace(request: HttpRequest) -> HttpResponse:
    """A donor enters the receipt number and amount and sees which projects the gift went to, and how much."""
    form = TraceForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST":
        if getattr(request, "limited", False):
            context.update(form=TraceForm(), limited=True)
            status = 429
        elif form.is_valid():
            donation = find_donation(**form.cleaned_data)
            if donation is None:
                context["not_found"] = True
                status = 404
            else:
                context["trace"] = donation_trace(donation)
        else:
            status = 400
    response = page(request, "trace.html", context, tab="trace", status=status)
    response["Cache-Control"] = "no-store"  # a donor's gift is nobody else's business, not even a shared cache's
    return response


@require_GET
def open_data(request: HttpRequest) -> HttpResponse:
    """What the open data holds, its identifiers and licence, and the two downloads."""
    return page(request, "open_data.html", {
        "prefix": settings.OPEN_DATA_PREFIX, "license": settings.OPEN_DATA_LICENSE,
        "columns": [title for title, _read in opendata.CSV_COLUMNS],
    }, tab="open_data")


def _project_url(request: HttpRequest) -> opendata.Url:
    # A project's page is projects/<pk>/ under the list (urls.py): one reverse() for the whole download.
    base = request.build_absolute_uri(reverse("public:projects"))
    return lambda application: f"{base}{application.pk}/"


def _open_data_response(chunks: Any, *, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Access-Control-Allow-Origin"] = "*"  # open data: any site may read it
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def grants_json(request: HttpRequest) -> StreamingHttpResponse:
    """The public grants as a 360Giving JSON package (streamed)."""
    chunks = opendata.package_json(url=_project_url(request),
                                   index_url=request.build_absolute_uri(reverse("public:index")),
                                   download_url=request.build_absolute_uri(reverse("public:grants_json")))
    return _open_data_response(chunks, content_type="application/json; charset=utf-8",
                               filename=f"360giving-{settings.OPEN_DATA_PREFIX}.json")


@require_GET
def grants_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The public grants as a flat CSV with 360Giving's column titles (streamed)."""
    return _open_data_response(opendata.grants_csv(url=_project_url(request)), content_type="text/csv; charset=utf-8",
                               filename=f"360giving-{settings.OPEN_DATA_PREFIX}.csv")

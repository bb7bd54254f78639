"""The completion certificate (结项证明): project, amounts approved and paid, outcomes, people served."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from ..models import CompletionReport, GrantApplication
from ..selectors.money import application_money
from ..selectors.reporting import completion_spending
from ..states import State
from .layout import (
    DOCUMENT_LANGUAGE,
    Styles,
    amount_line,
    data_table,
    day,
    facts_table,
    grant_reference,
    money,
    parties_rows,
    render,
    text,
)


def certificate_available(application: GrantApplication) -> bool:
    """Only a closed project has completed."""
    return application.status == State.CLOSED


def certificate_pdf(application: GrantApplication) -> bytes:
    """The completion certificate: project, amounts approved and paid, outcomes, people served, closing date."""
    with translation.override(DOCUMENT_LANGUAGE):
        return render(title=_("Certificate of completion"), reference=grant_reference(application),
                      author=application.fund.foundation.name,
                      story=lambda styles: _certificate_story(application, styles))


def amount_paid(application: GrantApplication) -> Decimal:
    """What the foundation has paid out on the grant, from its ledger."""
    return application_money(application)["paid"]


def _certificate_story(application: GrantApplication, s: Styles) -> list[Flowable]:
    report = CompletionReport.objects.filter(application=application).first()
    street = application.community.street_office
    approved = application.approved_amount or application.requested_amount
    story: list[Flowable] = [
        Paragraph(text(_("Certificate of completion")), s.title),
        Paragraph(text(_("Certificate no. %(reference)s") % {"reference": grant_reference(application)}),
                  s.subtitle),
        Paragraph(text(_("This certifies that the project “%(title)s” of %(community)s (%(street)s), funded by "
                         "%(fund)s, has been completed, its completion report accepted, and that it was closed on "
                         "%(date)s.") % {"title": application.title, "community": application.community.name,
                                         "street": street.name, "fund": application.fund.name,
                                         "date": day(application.closed_at)}), s.body),
        facts_table(s, [
            (_("Project title"), text(application.title)),
            *parties_rows(application),
            (_("Service category"), text(application.category.name)),
            (_("Project period"), text(_("%(start)s to %(end)s") % {"start": day(application.start_date),
                                                                    "end": day(application.end_date)})),
            (_("Amount approved"), text(amount_line(approved))),
            (_("Amount paid"), text(amount_line(amount_paid(application)))),
            (_("Closed on"), text(day(application.closed_at))),
        ]),
        Paragraph(text(_("Outcomes")), s.heading),
    ]
    if report is None:
        story.append(Paragraph(text(_("No completion report is on record.")), s.body))
    else:
        story += _outcomes(application, report, s)
    issuer = s.style("issuer", 10.5, alignment=TA_RIGHT)
    story.append(KeepTogether([
        Spacer(0, 8 * mm),
        Paragraph(text(application.fund.foundation.name), issuer),
        Paragraph(text(_("(seal)")), issuer),
        Paragraph(text(day(application.closed_at)), issuer),
    ]))
    return story


def _outcomes(application: GrantApplication, report: CompletionReport, s: Styles) -> list[Flowable]:
    served = list(report.served.all())
    # Budgets as the application page shows them: scaled when less was approved than requested.
    spending = [row for row in completion_spending(application, report) if row.actual is not None]
    flowables: list[Flowable] = [
        Paragraph(text(report.outcomes), s.body),
        Paragraph(text(_("Activities held: %(count)s") % {"count": report.activities_held}), s.body),
        Paragraph(text(_("People served")), s.heading),
    ]
    if served:
        flowables.append(data_table(
            s, [_("Kind"), _("People served")], [(row.get_kind_display(), row.served_count) for row in served],
            widths=[None, 40 * mm], numbers=[1], total=(_("Total"), sum(row.served_count for row in served))))
    else:
        flowables.append(Paragraph(text(_("No counts were reported.")), s.body))
    if spending:
        flowables += [
            Paragraph(text(_("Actual spending")), s.heading),
            data_table(s, [_("Budget line"), _("Budget (yuan)"), _("Spent (yuan)")],
                       [(row.line.description, money(row.budget), money(row.actual)) for row in spending],
                       widths=[None, 34 * mm, 34 * mm], numbers=[1, 2],
                       total=(_("Total"), money(sum((row.budget for row in spending), Decimal(0))),
                              money(sum((row.actual for row in spending), Decimal(0))))),
        ]
    if report.public_summary:
        flowables += [Paragraph(text(_("Results")), s.heading), Paragraph(text(report.public_summary), s.body)]
    return flowables

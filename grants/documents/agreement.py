"""The grant agreement (资助协议): parties, project, amount, budget, payment schedule, reporting, signatures."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from ..models import GrantApplication, ProgressReport
from ..states import State
from .layout import (
    BLANK_DATE,
    DOCUMENT_LANGUAGE,
    Styles,
    amount_line,
    column_widths,
    data_table,
    day,
    facts_table,
    grant_reference,
    grid,
    money,
    parties_rows,
    percent,
    render,
    text,
)


def agreement_available(application: GrantApplication) -> bool:
    """From the agreement step on (approved, publicity over); afterwards only if it was actually signed."""
    return application.status == State.AGREEMENT or application.agreement_signed_at is not None


def agreement_pdf(application: GrantApplication) -> bytes:
    """The grant agreement: parties, project, amount, budget, payment schedule, reporting duties, signatures."""
    with translation.override(DOCUMENT_LANGUAGE):
        return render(title=_("Grant agreement"), reference=grant_reference(application),
                      author=application.fund.foundation.name,
                      story=lambda styles: _agreement_story(application, styles))


def _agreement_story(application: GrantApplication, s: Styles) -> list[Flowable]:
    fund = application.fund
    amount = application.approved_amount or application.requested_amount
    lines = list(application.budget_lines.all())
    tranches = list(application.tranches.order_by("number"))
    reports: list[ProgressReport] = list(application.progress_reports.order_by("number"))
    story: list[Flowable] = [
        Paragraph(text(_("Grant agreement")), s.title),
        Paragraph(text(_("Agreement no. %(reference)s") % {"reference": grant_reference(application)}), s.subtitle),
        facts_table(s, parties_rows(application)),
        Spacer(0, 3 * mm),
        Paragraph(text(_("Party A grants Party B the amount below from the special fund for the project below, on "
                         "the terms of this agreement, with the street office following the project on site.")),
                  s.body),
        Paragraph(text(_("1. The project")), s.heading),
        facts_table(s, [
            (_("Project title"), text(application.title)),
            (_("Service category"), text(application.category.name)),
            (_("Project period"), text(_("%(start)s to %(end)s") % {"start": day(application.start_date),
                                                                    "end": day(application.end_date)})),
            (_("Summary"), text(application.summary)),
        ]),
        Paragraph(text(_("2. The grant")), s.heading),
        facts_table(s, [(_("Grant amount"), text(amount_line(amount)))]),
    ]
    if application.conditions:
        story.append(Paragraph(text(_("Conditions of the grant: %(conditions)s")
                                    % {"conditions": application.conditions}), s.body))
    story += [
        Paragraph(text(_("3. Budget")), s.heading),
        data_table(s, [_("No."), _("Category"), _("Description"), _("Amount (yuan)")],
                   [(n, line.get_category_display(), line.description, money(line.amount))
                    for n, line in enumerate(lines, start=1)],
                   widths=[12 * mm, 32 * mm, None, 32 * mm], numbers=[3],
                   total=("", _("Total"), "", money(sum((line.amount for line in lines), Decimal(0))))),
        Paragraph(text(_("The grant is spent on this budget only. Actual spending that differs from a budget line by "
                         "more than %(tolerance)s is explained in the completion report.")
                       % {"tolerance": percent(fund.variance_tolerance_percent)}), s.body),
        Paragraph(text(_("4. Payment schedule")), s.heading),
        data_table(s, [_("Tranche"), _("Share"), _("Amount (yuan)"), _("Paid when")],
                   [(t.number, percent(t.percent), money(t.amount), t.get_condition_display()) for t in tranches],
                   widths=[16 * mm, 18 * mm, 32 * mm, None], numbers=[1, 2]),
        Paragraph(text(_("Party A pays each tranche to Party B's account once its condition is met. No tranche is "
                         "paid while a report is overdue.")), s.body),
        Paragraph(text(_("5. Reporting")), s.heading),
    ]
    story += _reporting(application, reports, s)
    story += [
        Paragraph(text(_("6. Other terms")), s.heading),
        Paragraph(text(_("Money not spent on the project is returned to the fund or, with Party A's consent, moved "
                         "to another project and disclosed.")), s.body),
        Paragraph(text(_("If the grant is misused, Party A may cancel this agreement and reclaim the money paid.")),
                  s.body),
        Paragraph(text(_("Reports give counts of the people served, never their names; the project's results are "
                         "published on the foundation's public page.")), s.body),
        KeepTogether([Paragraph(text(_("Signatures")), s.heading), _signatures(application, s)]),
    ]
    return story


def _reporting(application: GrantApplication, reports: list[ProgressReport], s: Styles) -> list[Flowable]:
    signed = application.agreement_signed_at is not None
    flowables: list[Flowable] = []
    if reports:
        flowables += [
            Paragraph(text(_("Party B hands in a progress report by each of these dates:")), s.body),
            data_table(s, [_("Report"), _("Due on"), _("Note")],
                       [(r.number, day(r.due_on), _("mid-term review") if r.is_midterm else "") for r in reports],
                       widths=[16 * mm, 40 * mm, None]),
            Spacer(0, 2 * mm),
        ]
    elif not signed:
        flowables.append(Paragraph(text(_("The due dates of the progress reports are set when the agreement is "
                                          "signed.")), s.body))
    else:
        flowables.append(Paragraph(text(_("No progress report is due for a project of this length.")), s.body))
    if application.completion_due_on:
        due = _("The completion report is due on %(date)s.") % {"date": day(application.completion_due_on)}
    else:
        due = (_("The completion report is due %(days)s days after the project ends.")
               % {"days": application.fund.completion_report_days})
    flowables += [Paragraph(text(due), s.body), Paragraph(text(_(
        "The completion report gives the outcomes against the plan, the people served by kind, the activities "
        "held and the actual spending per budget line, with receipts and invoices, photos and the beneficiaries' "
        "sign-off.")), s.body)]
    return flowables


def _signatures(application: GrantApplication, s: Styles) -> Table:
    signed_on = day(application.agreement_signed_at) or BLANK_DATE
    columns = [
        (_("Party A (seal)"), application.fund.foundation.name, signed_on),
        (_("Party B (seal)"), application.community.name, BLANK_DATE),
        (_("Street office (seal)"), application.community.street_office.name, BLANK_DATE),
    ]
    cells = [[Paragraph("<br/>".join([text(role), text(name), "", text(_("Representative (signature):")), "", "",
                                      text(_("Date: %(date)s") % {"date": date})]),
                        s.style("signature", 9.5, leading=1.8))
              for role, name, date in columns]]
    table = Table(cells, colWidths=column_widths([None, None, None]))
    table.setStyle(TableStyle(grid(s.font)))
    return table

"""Forms of the reporting pages: the completion report and a deadline extension.

Amounts and counts are taken as typed and checked by grants.services.reporting, whose refusal names the
field it concerns (`served_<kind>`, `spending_<budget line>`); the fields here carry those names.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .errors import ApplicationError
from .forms import BLANK, DateInput, MoneyInput
from .models import BeneficiaryGroup, CompletionReport
from .selectors.reporting import SpendingRow
from .services import SpendingInput


def _count_input() -> forms.NumberInput:
    return forms.NumberInput(attrs={"step": "1", "min": "0", "inputmode": "numeric"})


class CompletionReportForm(forms.Form):
    """The completion report: its texts, people served per kind, and actual spending per budget line.

    `kinds` are the beneficiary kinds to ask about (planned, or already reported); `rows` the budget lines with
    their budgets (grants.selectors.reporting.completion_spending). One more kind may be added in `extra_kind`.
    """

    outcomes = forms.CharField(label=_("Outcomes against the plan"), widget=forms.Textarea(attrs={"rows": 5}),
                               help_text=_("What the project achieved, compared with what the application planned."))
    activities_held = forms.CharField(label=_("Activities held"), required=False, widget=_count_input())
    activities = forms.CharField(label=_("Activities"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                                 help_text=_("What was held, when and where."))
    public_summary = forms.CharField(
        label=_("Results summary for the public"), widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Published on the public page when the project is closed. No names or other personal data."))
    private_notes = forms.CharField(
        label=_("Private notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Private: seen by the reviewers only, never published."))
    extra_kind = forms.ChoiceField(label=_("Another kind of people served"), required=False,
                                   choices=BLANK + BeneficiaryGroup.Kind.choices)
    extra_count = forms.CharField(label=_("People served"), required=False, widget=_count_input())

    def __init__(self, *args: Any, kinds: Sequence[tuple[str, int | None]], rows: Sequence[SpendingRow],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        labels = dict(BeneficiaryGroup.Kind.choices)
        self.kind_names = [kind for kind, _planned in kinds]
        for kind, planned in kinds:
            label = (gettext("%(kind)s (planned: %(count)s)") % {"kind": labels[kind], "count": planned}
                     if planned is not None else labels[kind])
            self.fields[f"served_{kind}"] = forms.CharField(label=label, required=False, widget=_count_input())
        self.rows = list(rows)
        for row in self.rows:
            pk = row.line.pk
            # Shown in a table whose header names the column: the label is read out, not displayed.
            amount_label = gettext("Actual spending on “%(line)s” (yuan)") % {"line": row.line.description}
            explanation_label = gettext("Explanation of the variance on “%(line)s”") % {"line": row.line.description}
            self.fields[f"spending_{pk}"] = forms.CharField(
                label=amount_label, required=False, widget=MoneyInput(attrs={"min": "0", "aria-label": amount_label}))
            self.fields[f"explanation_{pk}"] = forms.CharField(
                label=explanation_label, required=False,
                widget=forms.Textarea(attrs={"rows": 2, "aria-label": explanation_label}))

    @classmethod
    def initial_for(cls, report: CompletionReport | None, kinds: Sequence[tuple[str, int | None]],
                    rows: Sequence[SpendingRow]) -> dict[str, Any]:
        """The form's values from the report saved so far (empty when there is none yet)."""
        if report is None:
            return {}
        initial: dict[str, Any] = {name: getattr(report, name) for name in
                                   ("outcomes", "activities_held", "activities", "public_summary", "private_notes")}
        served = {row.kind: row.served_count for row in report.served.all()}
        initial.update({f"served_{kind}": served[kind] for kind, _planned in kinds if kind in served})
        for row in rows:
            if row.actual is not None:
                initial[f"spending_{row.line.pk}"] = row.actual
            initial[f"explanation_{row.line.pk}"] = row.explanation
        return initial

    def served_fields(self) -> list[forms.BoundField]:
        return [self[f"served_{kind}"] for kind in self.kind_names]

    def spending_rows(self) -> list[tuple[SpendingRow, forms.BoundField, forms.BoundField]]:
        return [(row, self[f"spending_{row.line.pk}"], self[f"explanation_{row.line.pk}"]) for row in self.rows]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("extra_kind") and cleaned["extra_kind"] in self.kind_names:
            self.add_error("extra_kind", _("This kind is already listed above."))
        # A variance over the fund's tolerance needs its explanation (the same rule the submission checks).
        for row in self.rows:
            actual = _amount_or_none(cleaned.get(f"spending_{row.line.pk}"))
            explanation = (cleaned.get(f"explanation_{row.line.pk}") or "").strip()
            entered = SpendingRow(line=row.line, budget=row.budget, actual=actual, explanation=explanation,
                                  tolerance_percent=row.tolerance_percent)
            if entered.over_tolerance and not explanation:
                self.add_error(f"explanation_{row.line.pk}", gettext(
                    "Spending on “%(line)s” differs from its budget by %(percent)s%%, more than the fund's "
                    "tolerance of %(tolerance)s%%: please explain why.") % {
                    "line": row.line.description, "percent": entered.variance_percent,
                    "tolerance": format(row.tolerance_percent.normalize(), "f")})
        return cleaned

    def report_data(self) -> dict[str, Any]:
        """The keyword arguments of grants.services.completion_report_save."""
        data = self.cleaned_data
        served = {kind: data.get(f"served_{kind}") for kind in self.kind_names}
        if data.get("extra_kind"):
            served[data["extra_kind"]] = data.get("extra_count")
        return {
            "outcomes": data["outcomes"], "public_summary": data["public_summary"],
            "activities_held": data.get("activities_held") or 0, "activities": data.get("activities", ""),
            "private_notes": data.get("private_notes", ""), "served": served,
            "spending": [SpendingInput(budget_line_id=row.line.pk, amount=data.get(f"spending_{row.line.pk}"),
                                       explanation=data.get(f"explanation_{row.line.pk}", "")) for row in self.rows],
        }

    def show_refusal(self, exc: ApplicationError) -> None:
        """Put the service's refusal on the field it names (the extra kind's count too), or above the form."""
        field = exc.field
        if field == f"served_{self.cleaned_data.get('extra_kind')}" and field not in self.fields:
            field = "extra_count"
        self.add_error(field if field in self.fields else None, forms.ValidationError(exc.message, code=exc.code))


def _amount_or_none(value: object) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        return None  # the service refuses it with its own message
    return amount if amount.is_finite() and amount >= 0 else None


class DeadlineExtensionForm(forms.Form):
    """A later due date for the report owed next, and why (recorded and audited)."""

    new_due_on = forms.DateField(label=_("New due date"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("Recorded with the extension and shown in the application's history."))

    def show_refusal(self, exc: ApplicationError) -> None:
        self.add_error(exc.field if exc.field in self.fields else None,
                       forms.ValidationError(exc.message, code=exc.code))

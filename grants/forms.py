"""Forms of the grant pages: drafting an application, filtering lists, and the inputs of an action."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from . import attachments
from .actions import Action
from .errors import ApplicationError
from .models import Attachment, BeneficiaryGroup, BudgetLine, Community, ServiceCategory
from .services import BeneficiaryData, BudgetLineData
from .states import State

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}
BLANK = [("", "---------")]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class MoneyInput(forms.NumberInput):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal", **kwargs.pop("attrs", {})},
                         **kwargs)


class CategoryChoiceField(forms.ModelChoiceField):
    """A service category, named with its fund when more than one fund is open for applications."""

    def __init__(self, queryset: Any, *, with_fund: bool, **kwargs: Any) -> None:
        self.with_fund = with_fund
        super().__init__(queryset, **kwargs)

    def label_from_instance(self, obj: ServiceCategory) -> str:
        return f"{obj.fund} · {obj}" if self.with_fund else str(obj)


class ApplicationForm(forms.Form):
    """The application's own fields; the community is asked only of people applying for several."""

    community = forms.ModelChoiceField(queryset=Community.objects.none(), label=_("Community"))
    title = forms.CharField(label=_("Title"), max_length=200)
    category = CategoryChoiceField(queryset=ServiceCategory.objects.none(), with_fund=False,
                                   label=_("Service category"))
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea(attrs={"rows": 5}),
                              help_text=_("What the project does, for whom, and how."))
    start_date = forms.DateField(label=_("Start date"), widget=DateInput())
    end_date = forms.DateField(label=_("End date"), widget=DateInput())
    requested_amount = forms.DecimalField(label=_("Requested amount (yuan)"), widget=MoneyInput(), **MONEY,
                                          help_text=_("The budget lines must add up to this amount."))

    def __init__(self, *args: Any, communities: Iterable[Community] | None = None,
                 category_queryset: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        categories = (category_queryset if category_queryset is not None
                      else ServiceCategory.objects.filter(is_active=True).select_related("fund"))
        funds = {category.fund_id for category in categories}
        self.fields["category"] = CategoryChoiceField(
            queryset=categories, with_fund=len(funds) > 1, label=self.fields["category"].label)
        if communities is None:
            # Editing: the community of an application never changes.
            del self.fields["community"]
            return
        communities = list(communities)
        field = self.fields["community"]
        field.queryset = Community.objects.filter(pk__in=[c.pk for c in communities])
        if len(communities) == 1:
            field.initial = communities[0].pk
            field.widget = forms.HiddenInput()

    def changes(self) -> dict[str, Any]:
        """The cleaned values the drafting services take as keyword arguments."""
        return {name: self.cleaned_data[name] for name in
                ("title", "category", "summary", "start_date", "end_date", "requested_amount")}


class BudgetLineForm(forms.Form):
    category = forms.ChoiceField(label=_("Budget category"), choices=BLANK + BudgetLine.Category.choices)
    description = forms.CharField(label=_("Description"), max_length=200)
    amount = forms.DecimalField(label=_("Amount (yuan)"), widget=MoneyInput(attrs={"data-budget-amount": ""}),
                                **MONEY)


class BeneficiaryForm(forms.Form):
    kind = forms.ChoiceField(label=_("Who benefits"), choices=BLANK + BeneficiaryGroup.Kind.choices)
    planned_count = forms.IntegerField(label=_("Planned number of people"), min_value=1)


class AttachmentForm(forms.Form):
    """One document: its kind and its file, whose content is checked before any service stores anything."""

    kind = forms.ChoiceField(label=_("Kind of document"), choices=BLANK + Attachment.Kind.choices)
    file = forms.FileField(label=_("File"), widget=forms.ClearableFileInput(attrs={"accept": attachments.ACCEPT}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("PDF, JPEG, PNG, XLSX or DOCX, at most %(limit)s MB.") % {
            "limit": attachments.megabytes(settings.ATTACHMENT_MAX_BYTES)}

    def clean_file(self) -> Any:
        # The service checks again; checking here too refuses every bad file of a form before any is stored.
        file = self.cleaned_data["file"]
        try:
            attachments.check_upload(file)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None
        return file


class BaseRowsFormSet(forms.BaseFormSet):
    """Rows the person may add or tick for deletion; blank extra rows are ignored."""

    def kept_forms(self) -> list[forms.Form]:
        """Rows to save: every existing row and every filled-in new one, less those ticked for deletion."""
        kept = []
        for index, form in enumerate(self.forms):
            if index >= self.initial_form_count() and not form.has_changed():
                continue
            if self.can_delete and self._should_delete_form(form):
                continue
            kept.append(form)
        return kept


class BudgetLineFormSet(BaseRowsFormSet):
    def lines(self) -> list[BudgetLineData]:
        return [BudgetLineData(category=f.cleaned_data["category"], description=f.cleaned_data["description"],
                               amount=f.cleaned_data["amount"]) for f in self.kept_forms()]

    def total(self) -> Decimal:
        """The sum of the amounts entered so far (for the running total shown beside the lines)."""
        total = Decimal("0")
        for form in self.forms:
            raw = form["amount"].value()
            try:
                total += Decimal(str(raw)) if raw not in (None, "") else 0
            except ArithmeticError:
                continue
        return total


class BeneficiaryFormSet(BaseRowsFormSet):
    def groups(self) -> list[BeneficiaryData]:
        return [BeneficiaryData(kind=f.cleaned_data["kind"], planned_count=f.cleaned_data["planned_count"])
                for f in self.kept_forms()]


class AttachmentFormSet(BaseRowsFormSet):
    def uploads(self) -> list[tuple[str, Any]]:
        return [(f.cleaned_data["kind"], f.cleaned_data["file"]) for f in self.kept_forms()]


BudgetLines = forms.formset_factory(BudgetLineForm, formset=BudgetLineFormSet, extra=2, can_delete=True)
Beneficiaries = forms.formset_factory(BeneficiaryForm, formset=BeneficiaryFormSet, extra=1, can_delete=True)
Attachments = forms.formset_factory(AttachmentForm, formset=AttachmentFormSet, extra=2)


class ApplicationFilterForm(forms.Form):
    """Filters of the application list; every field is optional."""

    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("all")), *State.choices])
    community = forms.ModelChoiceField(label=_("Community"), required=False, queryset=Community.objects.none(),
                                       empty_label=_("all"))
    category = forms.ModelChoiceField(label=_("Service category"), required=False,
                                      queryset=ServiceCategory.objects.none(), empty_label=_("all"))

    def __init__(self, *args: Any, communities: Any, categories: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities
        self.fields["category"].queryset = categories

    def filters(self) -> dict[str, Any] | None:
        """Lookups for the queryset from the fields that are set; None when a value names nothing one may see."""
        if not self.is_bound:
            return {}
        if not self.is_valid():
            return None
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}


class ActionForm(forms.Form):
    """The inputs an action declares (grants.actions.Input), rendered as fields of one small form.

    The values go to grants.actions.action_perform as typed, which checks them; its error is shown here.
    """

    WIDGETS = {
        "text": lambda: forms.Textarea(attrs={"rows": 2}),
        "integer": lambda: forms.NumberInput(attrs={"step": "1", "min": "0"}),
        "money": lambda: MoneyInput(),
    }

    def __init__(self, action: Action, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(data=data, auto_id=f"id_{action.name}_%s")
        self.action = action
        for spec in action.inputs:
            if spec.kind == "choice":
                self.fields[spec.name] = forms.ChoiceField(label=spec.label, required=spec.required,
                                                           choices=[("", "—"), *spec.choices])
                continue
            self.fields[spec.name] = forms.CharField(label=spec.label, required=spec.required,
                                                     widget=self.WIDGETS.get(spec.kind, self.WIDGETS["text"])())

    def show_error(self, message: str, field: str | None = None) -> None:
        """Show the service's translated refusal on the field it names, or above the form."""
        self._errors = ErrorDict()
        key = field if field in self.fields else NON_FIELD_ERRORS
        self._errors[key] = self.error_class([message])

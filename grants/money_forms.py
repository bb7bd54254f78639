"""Forms of the finance pages: recording donations, paying tranches, refunds, fees and the statement period.

The forms only read what was typed; the services (grants.services.money) check every rule and their
refusals are shown on the field they name.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import Community, Donation, GrantApplication, ServiceCategory

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class MoneyInput(forms.NumberInput):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}, **kwargs)


class DonationForm(forms.Form):
    """A gift as finance records it; without an arrival date it is only announced."""

    amount = forms.DecimalField(label=_("Amount (yuan)"), widget=MoneyInput(), **MONEY)
    donor_name = forms.CharField(label=_("Donor"), max_length=200, required=False,
                                 help_text=_("As on the bank statement or the platform's record."))
    donor_kind = forms.ChoiceField(label=_("Kind of donor"), choices=Donation.DonorKind.choices,
                                   initial=Donation.DonorKind.PERSON)
    is_anonymous = forms.BooleanField(label=_("Anonymous"), required=False,
                                      help_text=_("Only finance will see the donor's name."))
    public_acknowledgement = forms.BooleanField(
        label=_("May be thanked publicly"), required=False,
        help_text=_("Tick only when the donor agreed that their name is published (慈善法 Art 82)."))
    restricted_category = forms.ModelChoiceField(label=_("Restricted to category"), required=False,
                                                 queryset=ServiceCategory.objects.none(),
                                                 empty_label=_("no restriction"))
    restricted_community = forms.ModelChoiceField(label=_("Restricted to community"), required=False,
                                                  queryset=Community.objects.none(),
                                                  empty_label=_("no restriction"))
    purpose = forms.CharField(label=_("Donor's purpose"), max_length=300, required=False)
    received_on = forms.DateField(
        label=_("Arrived on"), required=False, widget=DateInput(),
        help_text=_("Leave empty while the gift is only announced; a receipt number is issued when it arrives."))
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=100, required=False)

    def __init__(self, *args: Any, categories: QuerySet[ServiceCategory], communities: QuerySet[Community],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["restricted_category"].queryset = categories
        self.fields["restricted_community"].queryset = communities

    def clean_received_on(self) -> dt.date | None:
        received_on = self.cleaned_data["received_on"]
        if received_on and received_on > timezone.localdate():
            raise forms.ValidationError(_("Money cannot arrive in the future."))
        return received_on


class ReceiveForm(forms.Form):
    """The announced money arrived on this day."""

    received_on = forms.DateField(label=_("Arrived on"), widget=DateInput(), initial=timezone.localdate)

    def clean_received_on(self) -> dt.date:
        received_on = self.cleaned_data["received_on"]
        if received_on > timezone.localdate():
            raise forms.ValidationError(_("Money cannot arrive in the future."))
        return received_on


class PayForm(forms.Form):
    """The bank reference of the transfer that paid a tranche."""

    bank_reference = forms.CharField(label=_("Bank reference"), max_length=100)


class RefundForm(forms.Form):
    """Money a project gave back to the fund."""

    application = forms.ModelChoiceField(label=_("Application"), queryset=GrantApplication.objects.none())
    amount = forms.DecimalField(label=_("Amount (yuan)"), widget=MoneyInput(), **MONEY)
    memo = forms.CharField(label=_("Memo"), max_length=300,
                           help_text=_("Why the money came back, e.g. the surplus of the completion report."))

    def __init__(self, *args: Any, applications: QuerySet[GrantApplication], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["application"].queryset = applications


class ManagementFeeForm(forms.Form):
    """The foundation's management fee charged to the fund."""

    amount = forms.DecimalField(label=_("Amount (yuan)"), widget=MoneyInput(), **MONEY)
    memo = forms.CharField(label=_("Memo"), max_length=300, help_text=_("Period and basis of the fee."))


class PeriodForm(forms.Form):
    """The statement's period; by default from the first of January to today."""

    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            raise forms.ValidationError(_("The period cannot end before it starts."))
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The chosen period, with the defaults filled in (an invalid choice falls back to the defaults)."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_valid() else {}
        end = data.get("end") or today
        start = data.get("start") or dt.date(end.year, 1, 1)
        if end < start:
            start, end = dt.date(today.year, 1, 1), today
        return start, end

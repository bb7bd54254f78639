"""Forms of the public page: an objection to a grant in publicity, and a donor's look-up of their gift."""

from __future__ import annotations

from decimal import Decimal

from captcha.fields import CaptchaField
from django import forms
from django.utils.translation import gettext_lazy as _


class ObjectionForm(forms.Form):
    """Anyone's objection to a grant in publicity; the contact goes to the foundation only."""

    text = forms.CharField(
        label=_("Your objection"), max_length=5000, widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What is wrong with this grant, and why. Please do not name private persons."))
    contact = forms.CharField(
        label=_("How the foundation can reach you (optional)"), max_length=200, required=False,
        help_text=_("Seen only by the foundation, to ask you about your objection; never published."))
    captcha = CaptchaField(label=_("Characters in the picture"),
                           help_text=_("This keeps automated submissions out."))

    def clean_text(self) -> str:
        return self.cleaned_data["text"].strip()


class TraceForm(forms.Form):
    """A donor's receipt number and the amount printed on it."""

    receipt_number = forms.CharField(label=_("Receipt number"), max_length=40,
                                     help_text=_("As printed on your donation receipt, e.g. COMMUNITY-2026-000123."))
    amount = forms.DecimalField(label=_("Amount on the receipt (yuan)"), max_digits=14, decimal_places=2,
                                min_value=Decimal("0.01"),
                                help_text=_("Asked as well so that nobody can look up other people's gifts."))

    def clean_receipt_number(self) -> str:
        return self.cleaned_data["receipt_number"].strip().upper()

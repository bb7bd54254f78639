"""Forms of notifications: a person's channels, addresses and language."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import ChannelPreference

# Mainland mobile numbers: 11 digits starting with 1, optionally written with +86 and spaces or dashes.
MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")
# The server posts to this address: only WeCom's own robot endpoint, so that nobody can make it call
# addresses inside our network (server-side request forgery). Administrators may set others in the admin.
WECOM_WEBHOOK_PREFIX = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key="


class HttpsURLField(forms.URLField):
    """An address typed without a scheme is taken as https://."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class ChannelPreferenceForm(forms.ModelForm):
    """Where a person hears from the system; a channel that is switched on needs its address."""

    class Meta:
        model = ChannelPreference
        fields = ["language", "email_enabled", "sms_enabled", "phone", "wecom_enabled", "wecom_webhook"]
        field_classes = {"wecom_webhook": HttpsURLField}
        widgets = {"phone": forms.TextInput(attrs={"type": "tel", "inputmode": "tel", "autocomplete": "tel"})}
        labels = {
            "email_enabled": _("Send my notifications by email"),
            "sms_enabled": _("Send my notifications by text message"),
            "wecom_enabled": _("Post my notifications to a WeCom group robot"),
        }
        help_texts = {
            "email_enabled": _("Messages go to the email address of your account."),
            "phone": _("A mainland mobile number, such as 138 0013 8000."),
            "wecom_webhook": _("The webhook address of your team's WeCom group robot "
                               "(https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...)."),
        }

    def __init__(self, *args: Any, account_email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_email = account_email

    def clean_phone(self) -> str:
        raw = re.sub(r"[\s-]", "", self.cleaned_data.get("phone") or "")
        if not raw:
            return ""
        match = MOBILE.fullmatch(raw)
        if match is None:
            raise forms.ValidationError(_("Enter a mainland mobile number of 11 digits."), code="phone")
        return match.group(1)

    def clean_wecom_webhook(self) -> str:
        url = (self.cleaned_data.get("wecom_webhook") or "").strip()
        if url and not (url.startswith(WECOM_WEBHOOK_PREFIX) and len(url) > len(WECOM_WEBHOOK_PREFIX)):
            raise forms.ValidationError(
                _("Enter the robot's webhook address as WeCom shows it: it starts with %(prefix)s."),
                code="wecom_webhook", params={"prefix": WECOM_WEBHOOK_PREFIX})
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("sms_enabled") and not data.get("phone") and "phone" not in self.errors:
            self.add_error("phone", forms.ValidationError(_("Text messages need your mobile phone number."),
                                                          code="required"))
        if data.get("wecom_enabled") and not data.get("wecom_webhook") and "wecom_webhook" not in self.errors:
            self.add_error("wecom_webhook", forms.ValidationError(
                _("The WeCom group robot needs its webhook address."), code="required"))
        if data.get("email_enabled") and not self.account_email:
            self.add_error("email_enabled", forms.ValidationError(
                _("Your account has no email address; ask an administrator to add one, or switch email off."),
                code="no_email"))
        return data

"""Forms of the bank statement import: the upload, and the confirmation of a checked file."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .services.imports import MAX_BYTES, MAX_ROWS

EXTENSIONS = (".csv", ".xlsx")


class StatementUploadForm(forms.Form):
    file = forms.FileField(label=_("Bank statement"),
                           widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Interpolated per form, so the help follows the person's language.
        self.fields["file"].help_text = gettext(
            "A .csv (UTF-8 or GB18030) or .xlsx file of at most %(size)d MB and %(rows)d rows. Line 1 names the "
            "columns: 日期/date, 金额/amount, 付款人/payer, 银行流水号/bank_reference, 附言/memo; optionally "
            "限定类别/restricted_category, 限定社区/restricted_community, 匿名/anonymous, "
            "公开致谢/public_acknowledgement.") % {"size": MAX_BYTES // (1024 * 1024), "rows": MAX_ROWS}

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        # Checked before the file is read: an oversized upload never reaches memory.
        if upload.size > MAX_BYTES:
            raise ValidationError(_("The file is larger than %(size)d MB."), code="file_too_large",
                                  params={"size": MAX_BYTES // (1024 * 1024)})
        if not upload.name.lower().endswith(EXTENSIONS):
            raise ValidationError(_("Upload the statement as a .csv or .xlsx file."), code="unsupported_format")
        return upload


class StatementConfirmForm(forms.Form):
    """Names the checked file by its SHA-256; its content waits in the person's session."""

    digest = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput)

"""The grant's printable documents: the grant agreement (资助协议) and the completion certificate (结项证明).

Both are PDFs built from the application's data with reportlab's platypus, always in Chinese, with a CJK
TrueType font embedded (settings.PDF_FONT_PATH). Without that font no PDF is made (FontMissing): it would
show boxes instead of Chinese.
"""

from .agreement import agreement_available, agreement_pdf
from .capitals import amount_in_capitals
from .certificate import amount_paid, certificate_available, certificate_pdf
from .layout import FontMissing, document_font, grant_reference

__all__ = [
    "FontMissing",
    "agreement_available",
    "agreement_pdf",
    "amount_in_capitals",
    "amount_paid",
    "certificate_available",
    "certificate_pdf",
    "document_font",
    "grant_reference",
]

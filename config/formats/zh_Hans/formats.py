"""Number formats for Simplified Chinese: amounts in yuan are grouped by thousands, as on Chinese financial forms.

Django's own zh_Hans formats group by 4 digits with no separator; Chinese bank statements, vouchers and
charity disclosures write 1,234,567.89. Only the number settings are here: Django looks up every other
setting (DATE_FORMAT "Y年n月j日", SHORT_DATE_FORMAT, the *_INPUT_FORMATS, FIRST_DAY_OF_WEEK ...) module by
module, so the dates still come from django/conf/locale/zh_Hans/formats.py.

Grouping applies where a template asks for it (`|intcomma`, `|floatformat:"2g"`): USE_THOUSAND_SEPARATOR
stays off so that ids and years are never printed as 1,234.
"""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

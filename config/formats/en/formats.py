"""Number formats for English: the same 1,234,567.89 as in Chinese, so both languages show one amount alike.

Dates and input formats are not set here; they fall back to django/conf/locale/en/formats.py.
Grouping applies only where a template asks for it (`|intcomma`, `|floatformat:"2g"`).
"""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

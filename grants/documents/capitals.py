"""Amounts in Chinese capital numerals (大写金额), as written on contracts and cheques."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
GROUP_UNITS = ("仟", "佰", "拾", "")
SECTION_UNITS = ("", "万", "亿", "万亿")


def amount_in_capitals(amount: Decimal | int | str) -> str:
    """The amount in yuan as written on Chinese contracts and cheques (大写), e.g. 50000 -> 伍万元整.

    Rounded to the fen; one 零 for each run of zeros; 整 when there are no fen (人民银行《支付结算办法》).
    """
    cents = int((Decimal(str(amount)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign, cents = ("负" if cents < 0 else ""), abs(cents)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)
    if yuan >= 10 ** (4 * len(SECTION_UNITS)):
        raise ValueError(f"amount too large for capital numerals: {amount}")
    words = _integer_in_capitals(yuan)
    if not jiao and not fen:
        return f"{sign}{words or DIGITS[0]}元整"
    text = f"{words}元" if words else ""
    if jiao:
        text += ("零" if words and yuan % 10 == 0 else "") + f"{DIGITS[jiao]}角"
    if fen:
        text += ("零" if words and not jiao else "") + f"{DIGITS[fen]}分"
    else:
        text += "整"
    return sign + text


def _integer_in_capitals(number: int) -> str:
    sections = []
    while number:
        number, section = divmod(number, 10000)
        sections.append(section)
    text, zeros_before = "", False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            zeros_before = bool(text)
            continue
        if text and (zeros_before or section < 1000):
            text += "零"
        text += _section_in_capitals(section) + SECTION_UNITS[index]
        zeros_before = False
    return text


def _section_in_capitals(section: int) -> str:
    text, zero = "", False
    for position, char in enumerate(f"{section:04d}"):
        digit = int(char)
        if digit == 0:
            zero = bool(text)
            continue
        text += ("零" if zero else "") + DIGITS[digit] + GROUP_UNITS[position]
        zero = False
    return text

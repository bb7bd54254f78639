"""Gifts reported by donation platforms: signed, fresh, checked, and recorded exactly once per platform gift."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import ApplicationConflict, ApplicationError
from ..models import Donation, DonationPlatform
from .imports import MAX_AMOUNT, RestrictionLookup
from .money import donation_record

SIGNATURE_PREFIX = "sha256="
CURRENCY = "CNY"
REQUIRED_FIELDS = ("donation_id", "amount", "currency", "paid_at", "fund")
AMOUNT_RE = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
TIMESTAMP_RE = re.compile(r"\d{1,12}", re.ASCII)
LENGTHS = {"donation_id": Donation._meta.get_field("platform_donation_id").max_length,
           "donor_name": Donation._meta.get_field("donor_name").max_length,
           "purpose": Donation._meta.get_field("purpose").max_length}


class WebhookRefused(ApplicationError):
    """A delivery the fund does not accept; `http_status` is how the platform is answered."""

    def __init__(self, message: str, *, code: str, status: int = 400, field: str | None = None) -> None:
        super().__init__(message, code=code, field=field)
        self.http_status = status


@dataclass(frozen=True)
class PlatformDelivery:
    """The donation a delivery reported, and whether this delivery recorded it (False: a retry or replay)."""

    donation: Donation
    created: bool


def platform_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-Signature a platform sends: HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def _verify(platform: DonationPlatform, *, body: bytes, signature: str, timestamp: str, now: dt.datetime) -> None:
    if not TIMESTAMP_RE.fullmatch(timestamp or ""):
        raise WebhookRefused(_("The X-Timestamp header must be the time of sending in Unix seconds."),
                             code="invalid_timestamp")
    expected = platform_signature(secret=platform.secret, timestamp=timestamp, body=body)
    # compare_digest only takes ASCII text; anything else cannot be a valid signature anyway.
    given = (signature or "").strip()
    if not given.isascii() or not hmac.compare_digest(expected, given.lower()):
        raise WebhookRefused(_("The signature does not match this platform's secret."), code="invalid_signature",
                             status=401)
    # Checked after the signature, so only the platform learns that its clock or its retry is off.
    if abs(now.timestamp() - int(timestamp)) > platform.replay_window_seconds:
        raise WebhookRefused(_("The timestamp is more than %(seconds)d seconds away from now: send the delivery "
                               "again with a fresh timestamp and signature.")
                             % {"seconds": platform.replay_window_seconds}, code="stale_timestamp", status=401)


def _text(payload: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = payload.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise WebhookRefused(_("The field “%(field)s” is missing.") % {"field": key}, code="missing_field",
                                 field=key)
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and key == "donation_id":
        value = str(value)  # some platforms number their gifts
    if not isinstance(value, str):
        raise WebhookRefused(_("The field “%(field)s” must be a string.") % {"field": key}, code="invalid_field",
                             field=key)
    value = value.strip()
    if key in LENGTHS and len(value) > LENGTHS[key]:
        raise WebhookRefused(_("The field “%(field)s” has more than %(limit)d characters.")
                             % {"field": key, "limit": LENGTHS[key]}, code="invalid_field", field=key)
    return value


def _flag(payload: dict[str, Any], key: str) -> bool:
    value = payload.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise WebhookRefused(_("The field “%(field)s” must be true or false.") % {"field": key},
                             code="invalid_field", field=key)
    return value


def _amount(value: Any) -> Decimal:
    """A positive amount in yuan with at most two decimals, sent as a string ("100.00") or a JSON number."""
    if isinstance(value, str) and AMOUNT_RE.fullmatch(value.strip()):
        amount = Decimal(value.strip())
    elif isinstance(value, int | Decimal) and not isinstance(value, bool) and Decimal(value).is_finite():
        amount = Decimal(value)
    else:
        raise WebhookRefused(_("The amount must be a number of yuan such as \"100.00\"."), code="invalid_amount",
                             field="amount")
    if amount <= 0:
        raise WebhookRefused(_("The amount must be more than zero."), code="invalid_amount", field="amount")
    # MAX_AMOUNT first: quantize() fails on numbers beyond the decimal context's precision.
    if amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        raise WebhookRefused(_("The amount must be in yuan with at most two decimals (fen)."),
                             code="invalid_amount", field="amount")
    return amount


def _paid_at(value: str, *, now: dt.datetime, window: int) -> dt.datetime:
    try:
        paid_at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise WebhookRefused(_("paid_at must be a date and time such as 2026-11-20T10:00:00+08:00."),
                             code="invalid_paid_at", field="paid_at") from None
    if timezone.is_naive(paid_at):
        raise WebhookRefused(_("paid_at must carry its time zone, such as +08:00."), code="invalid_paid_at",
                             field="paid_at")
    if paid_at > now + dt.timedelta(seconds=window):
        raise WebhookRefused(_("paid_at is in the future."), code="invalid_paid_at", field="paid_at")
    return paid_at


def _payload(body: bytes) -> dict[str, Any]:
    try:
        # Decimal for numbers, so an amount sent as a JSON number never passes through a float.
        payload = json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRefused(_("The body is not valid JSON (UTF-8)."), code="malformed_json") from None
    if not isinstance(payload, dict):
        raise WebhookRefused(_("The body must be a JSON object."), code="malformed_json")
    return payload


@transaction.atomic
def platform_donation_receive(*, platform_code: str, body: bytes, signature: str, timestamp: str,
                              now: dt.datetime | None = None) -> PlatformDelivery:
    """Record a gift a donation platform reported as a received donation of its fund, once per gift.

    1. The platform must exist and be active (404); the signature of "<timestamp>.<body>" must match its
       secret (401), and the timestamp must lie within its replay window (401).
    2. The body must be a JSON object with donation_id, amount (more than zero, in fen), currency CNY,
       paid_at (with its time zone) and the code of the platform's fund; restrictions must resolve (400).
    3. A gift the platform reported before is returned as it was (retries and replays write nothing);
       the same donation_id with another fund or amount is refused (409).
    4. Otherwise record it through `donation_record` (no actor: the signature stands for the platform).
    """
    now = now or timezone.now()
    platform = (DonationPlatform.objects.select_related("fund")
                .filter(code=platform_code, is_active=True).first())
    if platform is None:
        raise WebhookRefused(_("There is no active donation platform “%(code)s”.") % {"code": platform_code},
                             code="unknown_platform", status=404)
    _verify(platform, body=body, signature=signature, timestamp=timestamp, now=now)
    payload = _payload(body)
    for key in REQUIRED_FIELDS:
        if payload.get(key) is None:
            raise WebhookRefused(_("The field “%(field)s” is missing.") % {"field": key}, code="missing_field",
                                 field=key)
    donation_id = _text(payload, "donation_id", required=True)
    amount = _amount(payload["amount"])
    if payload["currency"] != CURRENCY:
        raise WebhookRefused(_("Only gifts in yuan (CNY) can be recorded."), code="unsupported_currency",
                             field="currency")
    if _text(payload, "fund", required=True) != platform.fund.code:
        raise WebhookRefused(_("unknown fund"), code="unknown_fund", field="fund")
    paid_at = _paid_at(_text(payload, "paid_at", required=True), now=now, window=platform.replay_window_seconds)

    existing = Donation.objects.filter(platform=platform.code, platform_donation_id=donation_id).first()
    if existing is not None:
        return _repeat(existing, platform=platform, amount=amount)

    category_name = _text(payload, "restricted_category")
    community_name = _text(payload, "restricted_community")
    lookup = RestrictionLookup(platform.fund, {community_name} if community_name else set())
    try:
        category = lookup.category(category_name) if category_name else None
        community = lookup.community(community_name) if community_name else None
    except ValueError as exc:
        raise WebhookRefused(str(exc), code="invalid_restriction") from None
    try:
        donation = donation_record(
            actor=None, fund=platform.fund, amount=amount, donor_name=_text(payload, "donor_name"),
            is_anonymous=_flag(payload, "anonymous"), public_acknowledgement=_flag(payload, "public_acknowledgement"),
            restricted_category=category, restricted_community=community, purpose=_text(payload, "purpose"),
            received_on=timezone.localtime(paid_at).date(), source=Donation.Source.PLATFORM,
            platform=platform.code, platform_donation_id=donation_id)
    except ApplicationConflict as exc:
        # Two deliveries of one gift at the same moment: the other one recorded it first.
        existing = Donation.objects.filter(platform=platform.code, platform_donation_id=donation_id).first()
        if exc.code != "duplicate_donation" or existing is None:
            raise
        return _repeat(existing, platform=platform, amount=amount)
    return PlatformDelivery(donation=donation, created=True)


def _repeat(existing: Donation, *, platform: DonationPlatform, amount: Decimal) -> PlatformDelivery:
    """A retried or replayed delivery: the same gift is answered as recorded, a different one refused."""
    if existing.fund_id != platform.fund_id or existing.amount != amount:
        raise WebhookRefused(_("The donation %(id)s was already reported with another amount or fund.")
                             % {"id": existing.platform_donation_id}, code="donation_id_reused", status=409,
                             field="donation_id")
    return PlatformDelivery(donation=existing, created=False)


__all__ = ["PlatformDelivery", "WebhookRefused", "platform_donation_receive", "platform_signature"]

"""The endpoint donation platforms call: signed JSON in, JSON out; no session, no CSRF token, no page."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from .errors import ApplicationError
from .services.webhooks import platform_donation_receive

logger = logging.getLogger(__name__)
# A gift report is a few hundred bytes; anything much larger is not one.
MAX_BODY = 64 * 1024


def _error(code: str, message: str, status: int, field: str | None = None) -> JsonResponse:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


@csrf_exempt  # the HMAC signature authenticates the platform, not a cookie
def platform_webhook(request: HttpRequest, platform_code: str) -> JsonResponse:
    """A platform reports a gift: 201 when recorded now, 200 when it was recorded before, 4xx with a reason."""
    if request.method != "POST":
        response = _error("method_not_allowed", _("Send the delivery with POST."), 405)
        response["Allow"] = "POST"
        return response
    try:
        too_big = int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY or len(request.body) > MAX_BODY
    except (ValueError, RequestDataTooBig):
        too_big = True
    if too_big:
        return _error("body_too_large", _("The body is larger than %(size)d KB.") % {"size": MAX_BODY // 1024}, 413)
    try:
        delivery = platform_donation_receive(
            platform_code=platform_code, body=request.body, signature=request.headers.get("X-Signature", ""),
            timestamp=request.headers.get("X-Timestamp", ""))
    except ApplicationError as exc:
        logger.warning("donation platform %s: delivery refused (%s %s)", platform_code, exc.http_status, exc.code)
        return _error(exc.code, exc.message, exc.http_status, exc.field)
    donation = delivery.donation
    return JsonResponse({
        "status": "recorded" if delivery.created else "already_recorded",
        "donation": {"id": donation.pk, "donation_id": donation.platform_donation_id, "amount": str(donation.amount),
                     "received_on": donation.received_on.isoformat() if donation.received_on else None,
                     "receipt_number": donation.receipt_number},
    }, status=201 if delivery.created else 200)

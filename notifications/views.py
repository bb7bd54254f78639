"""Pages of notifications: a person's list and channel preferences, and the outbox for administrators.

Thin like grants.views: check who is asking, call one service or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from grants.pagination import paginate
from grants.views import forbidden, render_page

from . import selectors, services
from .forms import ChannelPreferenceForm
from .messages import render
from .models import Delivery

FAILING_SHOWN = 50


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    """The person's in-app notifications, newest first, in the language of the page."""
    page = paginate(request, selectors.notifications_of(request.user))
    preference = selectors.preference_of(request.user)
    language = translation.get_language()
    rows = [(delivery, render(delivery, preference=preference, language=language)) for delivery in page]
    return render_page(request, "notifications/list.html", {"page": page, "rows": rows})


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark all of the person's notifications read, or only the one posted as `delivery`."""
    ids = [int(pk) for pk in request.POST.getlist("delivery") if pk.isdigit()] or None
    count = services.notifications_mark_read(user=request.user, delivery_ids=ids)
    if ids is None:
        messages.success(request, ngettext("%(count)d notification marked as read.",
                                           "%(count)d notifications marked as read.", count) % {"count": count})
    return redirect("notifications:list")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The person chooses their language and the channels they hear from the system on."""
    preference = selectors.preference_of(request.user)
    form = ChannelPreferenceForm(request.POST or None, instance=preference,
                                 account_email=getattr(request.user, "email", ""))
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your notification settings were saved."))
        return redirect("notifications:preferences")
    status = 400 if request.method == "POST" else 200
    return render_page(request, "notifications/preferences.html",
                       {"form": form, "account_email": getattr(request.user, "email", "")}, status=status)


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    if not request.user.is_staff:
        return forbidden(request, _("Only administrators may see the delivery operations."))
    return None


@login_required
def operations(request: HttpRequest) -> HttpResponse:
    """For administrators: deliveries by channel and status, what is failing and why, each channel's health."""
    refusal = _staff_only(request)
    if refusal is not None:
        return refusal
    failing = selectors.deliveries_failing()
    context: dict[str, Any] = {
        "channels": selectors.channel_overview(),
        "failing": failing[:FAILING_SHOWN],
        "failing_count": failing.count(),
        "failing_shown": FAILING_SHOWN,
        "statuses": list(Delivery.Status),
        "failed": Delivery.Status.FAILED,
    }
    return render_page(request, "notifications/operations.html", context)


@login_required
@require_POST
def operations_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator sends a failed delivery again."""
    refusal = _staff_only(request)
    if refusal is not None:
        return refusal
    if not Delivery.objects.filter(pk=pk, status=Delivery.Status.FAILED).exists():
        messages.info(request, _("That delivery has not failed (any more): nothing to retry."))
        return redirect("notifications:operations")
    services.delivery_retry(delivery_id=pk)
    messages.success(request, _("The delivery is queued again."))
    return redirect("notifications:operations")

"""Django admin of notifications: events and deliveries are records to look at; failed deliveries can be retried.

Events and deliveries are written only by notifications.services (recorded once, claimed before sending),
so the admin never adds, edits or deletes them; its one write is the "retry" action, which goes through
`delivery_retry`. Channel health is written by the senders. People's channel preferences may be edited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import ChannelHealth, ChannelPreference, Delivery, Event
from .services import delivery_retry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Visible to whoever may view the model; never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ["recipient", "channel", "status", "attempts", "due_at", "sent_at", "read_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "application", "recipient", "recipient_role", "natural_key"]
    list_filter = ["kind", "recipient_role"]
    search_fields = ["natural_key", "application__title", "recipient__username"]
    list_select_related = ["application", "recipient"]
    date_hierarchy = "created_at"
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "recipient", "channel", "status", "attempts", "due_at", "sent_at",
                    "error"]
    list_filter = ["status", "channel", "event__kind"]
    search_fields = ["recipient__username", "recipient__email", "recipient__first_name", "recipient__last_name"]
    list_select_related = ["event", "recipient"]
    actions = ["retry"]
    # Counting a million rows for every page is slow; the operations page shows the totals.
    show_full_result_count = False

    @admin.display(description=_("kind"), ordering="event__kind")
    def kind(self, delivery: Delivery) -> str:
        return delivery.event.get_kind_display()

    @admin.display(description=_("last error"))
    def error(self, delivery: Delivery) -> str:
        return Truncator(delivery.last_error).chars(80)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notifications.change_delivery")

    @admin.action(description=_("Retry the selected failed deliveries"), permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        failed = list(queryset.filter(status=Delivery.Status.FAILED).values_list("pk", flat=True))
        for pk in failed:
            delivery_retry(delivery_id=pk)
        self.message_user(request, ngettext("%(count)d failed delivery is queued again.",
                                            "%(count)d failed deliveries are queued again.",
                                            len(failed)) % {"count": len(failed)}, messages.SUCCESS)
        skipped = queryset.count() - len(failed)
        if skipped:
            self.message_user(request, ngettext("%(count)d selected delivery had not failed and was left alone.",
                                                "%(count)d selected deliveries had not failed and were left alone.",
                                                skipped) % {"count": skipped}, messages.WARNING)


@admin.register(ChannelHealth)
class ChannelHealthAdmin(ReadOnlyAdmin):
    list_display = ["channel", "last_success_at", "last_error_at", "last_error"]


@admin.register(ChannelPreference)
class ChannelPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "language", "email_enabled", "sms_enabled", "phone", "wecom_enabled"]
    list_filter = ["language", "email_enabled", "sms_enabled", "wecom_enabled"]
    search_fields = ["user__username", "user__email", "phone"]
    autocomplete_fields = ["user"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

"""The text of every message type, in the recipient's language (Simplified Chinese by default)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .channels import Message
from .models import ChannelPreference, MessageType

if TYPE_CHECKING:
    from .models import Delivery

# (subject, body) per message type; placeholders come from the event's application and payload.
TEMPLATES: dict[str, tuple[str, str]] = {
    MessageType.TASK_ASSIGNED: (_("New task: %(step)s"),
                                _("“%(title)s” (%(community)s) waits for you at the step “%(step)s”.")),
    MessageType.RETURNED_FOR_REVISION: (_("Returned for revision: %(title)s"),
                                        _("“%(title)s” was returned for revision: %(comment)s")),
    MessageType.APPROVED: (_("Approved: %(title)s"),
                           _("“%(title)s” was approved; it is published until %(publicity_ends_on)s.")),
    MessageType.REJECTED: (_("Not approved: %(title)s"), _("“%(title)s” was not approved: %(comment)s")),
    MessageType.PUBLICITY_STARTED: (_("In publicity: %(title)s"),
                                    _("“%(title)s” is published for objections until %(publicity_ends_on)s.")),
    MessageType.PUBLICITY_ENDING: (_("Publicity ends soon: %(title)s"),
                                   _("The publicity of “%(title)s” ends on %(publicity_ends_on)s.")),
    MessageType.OBJECTION_FILED: (_("Objection filed: %(title)s"),
                                  _("An objection was filed against “%(title)s”; the grant waits for your review.")),
    MessageType.AGREEMENT_UNSIGNED: (_("Agreement not yet signed: %(title)s"),
                                     _("The agreement of “%(title)s” has waited %(days)s working days.")),
    MessageType.TRANCHE_PAYABLE: (_("Tranche payable: %(title)s"),
                                  _("A tranche of %(amount)s yuan of “%(title)s” can be paid.")),
    MessageType.TRANCHE_UNPAID: (_("Tranche still unpaid: %(title)s"),
                                 _("A tranche of %(amount)s yuan of “%(title)s” has been payable for %(days)s "
                                   "working days.")),
    MessageType.TRANCHE_PAID: (_("Tranche paid: %(title)s"),
                               _("%(amount)s yuan were paid for “%(title)s”.")),
    MessageType.REPORT_DUE: (_("Report due: %(title)s"),
                             _("%(report)s of “%(title)s” is due on %(due)s (in %(days)s day(s)).")),
    MessageType.REPORT_OVERDUE: (_("Report overdue: %(title)s"),
                                 _("%(report)s of “%(title)s” was due on %(due)s and is %(days)s day(s) late; "
                                   "no further payment until it is in.")),
    MessageType.REVISION_IDLE: (_("Waiting for your revision: %(title)s"),
                                _("“%(title)s” was returned for revision %(days)s days ago.")),
    MessageType.ANNUAL_DISCLOSURE: (_("Annual report due by %(due)s"),
                                    _("The foundation's work and financial report must be published by %(due)s.")),
    MessageType.SERVICE_TIME_PASSED: (_("Service time passed: %(title)s"),
                                      _("“%(title)s” has waited at “%(step)s” longer than its service time.")),
    MessageType.ESCALATED: (_("Escalated: %(title)s"),
                            _("“%(title)s” has waited at “%(step)s” too long; please see that it moves.")),
    MessageType.DAILY_DIGEST: (_("What waits for you today"), _("%(count)s task(s) wait for you or your team.")),
}

# Which report a report reminder is about (the event's payload says "progress" with a number, or "completion").
REPORT_NAMES: dict[str, str] = {
    "progress": _("Progress report no. %(number)s"),
    "completion": _("The completion report"),
}


def _values(delivery: Delivery) -> dict[str, object]:
    from grants.states import State

    event = delivery.event
    values: dict[str, object] = defaultdict(str)
    values.update(event.payload)
    application = event.application
    if application is not None:
        values.update(title=application.title, community=application.community.name,
                      publicity_ends_on=application.publicity_ends_on or "")
    if "step" in event.payload:
        values["step"] = State(event.payload["step"]).label
    if event.payload.get("report") in REPORT_NAMES:
        values["report"] = str(REPORT_NAMES[event.payload["report"]]) % values
    return values


def render(delivery: Delivery, *, preference: ChannelPreference | None = None, language: str | None = None) -> Message:
    """The delivery's message in its recipient's language (or `language`), with their addresses."""
    # A page listing many deliveries of one person passes their `preference`, loaded once.
    if preference is None:
        from .selectors import preference_of

        preference = preference_of(delivery.recipient)
    subject, body = TEMPLATES[delivery.event.kind]
    with translation.override(language or preference.language):
        values = _values(delivery)
        return Message(subject=str(subject) % values, body=str(body) % values, email=delivery.recipient.email,
                       phone=preference.phone, wecom_webhook=preference.wecom_webhook)

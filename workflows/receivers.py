"""Keeps the organisations copied onto each grant process right when an administrator moves one.

The queue decides who may take a task from `GrantProcess.community/street_office/foundation`; a community
moved to another street office, or a fund to another foundation, must move its processes' tasks with it,
or the old street (foundation) would keep being offered them and the new one would never see them.
A bulk `QuerySet.update()` of communities or funds sends no signal: move them one by one (the admin does).
"""

from __future__ import annotations

from typing import Any

from grants.models import Community, Fund

from .models import GrantProcess


def community_saved(*, instance: Community, **kwargs: Any) -> None:
    """The community's processes follow it to its (possibly new) street office (one UPDATE)."""
    (GrantProcess.objects.filter(community_id=instance.pk).exclude(street_office_id=instance.street_office_id)
     .update(street_office_id=instance.street_office_id))


def fund_saved(*, instance: Fund, **kwargs: Any) -> None:
    """The processes of the fund's applications follow it to its (possibly new) foundation (one UPDATE)."""
    (GrantProcess.objects.filter(application__fund_id=instance.pk).exclude(foundation_id=instance.foundation_id)
     .update(foundation_id=instance.foundation_id))

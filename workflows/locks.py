"""The process lock: viewflow's row lock, without a savepoint when a service's transaction is already open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from viewflow.workflow.lock import SelectForUpdateLock


class ProcessRowLock(SelectForUpdateLock):
    """`SELECT ... FOR UPDATE` on the process row, held until the surrounding transaction ends.

    Outside a transaction (timers, the admin) it is viewflow's `select_for_update_lock`: a transaction of
    its own and NOWAIT with retries. Inside one (every service, through `run_transition`) viewflow's
    version would open a savepoint per flow step (two more round trips) that buys nothing: an error there
    undoes the whole transition anyway. NOWAIT cannot be retried without a savepoint either, so it waits
    for the row instead; the application's row, updated first by every transition, already orders
    concurrent decisions, and PostgreSQL breaks a deadlock with a timer by failing one of them.
    """

    @contextmanager
    def __call__(self, flow_class: Any, process_pk: int) -> Iterator[None]:
        if not connection.in_atomic_block:
            with super().__call__(flow_class, process_pk):
                yield
            return
        flow_class.process_class._default_manager.filter(pk=process_pk).select_for_update().exists()
        yield


process_row_lock = ProcessRowLock()

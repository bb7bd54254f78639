"""New task rows and their links to the task before them, written together.

viewflow saves a new task, then adds its link to the previous task (`task.previous.add(...)`): two round
trips for every node a step creates. On PostgreSQL a data-modifying `WITH` writes the rows and their links
in one statement; elsewhere (SQLite) it is two bulk inserts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection


def _columns(model: Any) -> list[Any]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _mark_saved(task: Any, pk: int) -> None:
    task.pk = pk
    task._state.adding = False
    task._state.db = connection.alias


def insert_linked(tasks: Sequence[Any], previous_pk: int) -> None:
    """Insert `tasks` (new, unsaved, of one task model) and link each to the task `previous_pk`."""
    if not tasks:
        return
    model = type(tasks[0])
    for task in tasks:
        if task.flow_task is not None and not task.flow_task_type:  # what viewflow's Task.save() fills in
            task.flow_task_type = task.flow_task.task_type
    link = model.previous.through
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(tasks)
        link._default_manager.bulk_create([link(from_task_id=task.pk, to_task_id=previous_pk) for task in tasks])
        return
    quote = connection.ops.quote_name
    fields = _columns(model)
    values: list[Any] = []
    for task in tasks:
        values += [f.get_db_prep_save(f.pre_save(task, add=True), connection) for f in fields]
    row = f"({', '.join(['%s'] * len(fields))})"
    sql = (f"WITH t AS (INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES {', '.join([row] * len(tasks))} RETURNING {quote(model._meta.pk.column)}), "
           f"l AS (INSERT INTO {quote(link._meta.db_table)} ({quote('from_task_id')}, {quote('to_task_id')}) "
           f"SELECT t.{quote(model._meta.pk.column)}, %s FROM t) "
           f"SELECT {quote(model._meta.pk.column)} FROM t")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, previous_pk])
        ids = [pk for (pk,) in cursor.fetchall()]
    # PostgreSQL returns a multi-row INSERT's rows in the order of its VALUES.
    for task, pk in zip(tasks, ids, strict=True):
        _mark_saved(task, pk)

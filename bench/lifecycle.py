"""Lifecycle throughput: applications walked from submission to closing, against stock viewflow and raw SQL.

Run from the project root (it creates, migrates and drops its own scratch PostgreSQL database):

    .venv/bin/python bench/lifecycle.py                      # 200 applications, 1 and 2 processes
    .venv/bin/python bench/lifecycle.py --applications 2000 --processes 1,2,4
    .venv/bin/python bench/lifecycle.py --publicity timer    # end publicity with time_machine + fire_due_timers

Three ways to do the same 13 steps per application (12 with `--publicity timer`), each measured with
1 and 2 processes (each process walks its own share of the applications):

    domain   the real thing: grants.actions.action_perform / grants.services as the right person, whose FSM
             transition, audit row and signal complete the viewflow task (workflows.sync);
    stock    the floor: bench/flows.py, a stock viewflow flow of the same shape with no domain code,
             tasks completed with `task.activation()`: assign, start, execute;
    raw SQL  the ceiling: per step one transaction of UPDATE application (optimistic WHERE status=old),
             INSERT audit row, UPDATE previous task, INSERT next task.

It prints figures and never asserts on them.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Cast,
    Stopwatch,
    breakdown,
    classify,
    command_line,
    load_text,
    machine_lines,
    make_cast,
    scratch_database,
    table,
)

# The domain path: (action, deciding role, inputs). "receive_objection" is the public filing an objection.
BEFORE_PUBLICITY = (
    ("submit", "applicant", {}),
    ("confirm", "community_head", {}),
    ("street_approve", "street_reviewer", {}),
    ("street_sign_off", "street_leader", {}),
    ("foundation_recommend", "programme_officer", {"score": 85, "recommended_amount": "20000.00"}),
    ("approve", "secretary_general", {}),
)
OBJECTION = (
    ("receive_objection", None, {"text": "The budget repeats last year's project."}),
    ("dismiss_objection", "secretary_general", {"reason": "Checked: a different project."}),
)
AFTER_PUBLICITY = (
    ("sign_agreement", "secretary_general", {}),
    ("submit_completion_report", "applicant", {}),
    ("verify_completion", "street_reviewer", {}),
    ("accept_completion", "programme_officer", {}),
    ("pay_tranches", "finance", {}),
    ("close", "finance", {}),
)
# Not a workflow step (no task, no transition) but needed before closing: finance pays the payable tranches
# through grants.services.tranche_pay. Its clock is stopped; stock and raw SQL skip it.
UNTIMED = frozenset({"pay_tranches"})
UNTIMED_LABEL = "pay_tranches (money, untimed)"
TIMER_STEP = "end_publicity (timer)"
# States along the path, for the raw-SQL ceiling.
STATES_BEFORE = ("draft", "community_confirmation", "street_review", "street_signoff", "foundation_review",
                 "approval", "publicity")
STATES_OBJECTION = ("objection", "agreement")
STATES_AFTER = ("in_progress", "completion_verification", "completion_acceptance", "closing", "closed")
BREAKDOWN_ACTION = "street_approve"


@dataclass
class Stats:
    """What one worker measured."""

    steps: int = 0
    seconds: float = 0.0  # a worker's active time: wall time less the untimed interludes
    queries: int = 0
    db_seconds: float = 0.0
    applications: int = 0
    per_action: dict[str, list[float]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0.0]))

    def add(self, action: str, queries: int, seconds: float, count: int = 1) -> None:
        self.steps += count
        self.queries += queries
        row = self.per_action[action]
        row[0] += count
        row[1] += queries
        row[2] += seconds

    def merge(self, other: Stats) -> None:
        self.steps += other.steps
        self.seconds += other.seconds
        self.queries += other.queries
        self.db_seconds += other.db_seconds
        self.applications += other.applications
        for action, (n, q, s) in other.per_action.items():
            row = self.per_action[action]
            row[0] += n
            row[1] += q
            row[2] += s

    def plain(self) -> Stats:  # picklable copy (no lambdas)
        copy = Stats(self.steps, self.seconds, self.queries, self.db_seconds, self.applications)
        copy.per_action = {k: list(v) for k, v in self.per_action.items()}
        return copy


class TimedCounter:
    """Counts statements and the time spent waiting for the database (execute_wrapper, cheap)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started


# --- The three walkers -------------------------------------------------------------------------------


def all_steps() -> tuple[tuple, ...]:
    """Every person's step in order, publicity ended by an objection (the one-application walks)."""
    return (*BEFORE_PUBLICITY, *OBJECTION, *AFTER_PUBLICITY)


def segments(publicity: str) -> list[tuple[str, tuple]]:
    """The measured walk: runs of steps each process does for its applications, and the interludes between.

    "timer": every process has its applications in publicity; one process fires the due timers (timed).
    "pay":   every process pays its applications' tranches (untimed); kept apart from the approvals so that
             the benchmark does not trip over the tranche_pay/commitment lock order (see README.md).
    """
    after = tuple(step for step in AFTER_PUBLICITY if step[0] not in ("pay_tranches", "close"))
    close = tuple(step for step in AFTER_PUBLICITY if step[0] == "close")
    if publicity == "objection":
        return [("steps", (*BEFORE_PUBLICITY, *OBJECTION, *after)), ("pay", ()), ("steps", close)]
    return [("steps", BEFORE_PUBLICITY), ("timer", ()), ("steps", after), ("pay", ()), ("steps", close)]


def steps_per_application(publicity: str) -> int:
    return sum(len(steps) if kind == "steps" else kind == "timer" for kind, steps in segments(publicity))


def no_completion_documents(cast: Cast) -> None:
    """The bench fund asks for no documents with the completion report (uploads are not workflow cost)."""
    from grants.models import Fund

    Fund.objects.filter(pk=cast.fund_id).update(completion_documents=[])


def write_completion_reports(ids: Sequence[int]) -> None:
    """Each application's completion report, filled in ahead (data, like the drafts): spent as budgeted.

    Writing it is the applicant's form, not a workflow step; `submit_completion_report` only hands it in.
    """
    from grants.models import BudgetLine
    from grants.models.reporting import ActualSpending, CompletionReport

    reports = CompletionReport.objects.bulk_create([
        CompletionReport(application_id=pk, outcomes="按计划完成全部服务活动", public_summary="服务老人120人次",
                         activities_held=12) for pk in ids])
    report_of = {report.application_id: report.pk for report in reports}
    ActualSpending.objects.bulk_create([
        ActualSpending(report_id=report_of[application_id], budget_line_id=line_id, amount=amount)
        for line_id, application_id, amount in
        BudgetLine.objects.filter(application_id__in=ids).values_list("pk", "application_id", "amount")])


class DomainWalker:
    """Each step as a web request would do it: fresh roles, the application through the scoped selector."""

    name = "domain"

    def __init__(self, cast: Cast) -> None:
        from django.contrib.auth import get_user_model

        self.cast = cast
        self.users = {user.pk: user for user in get_user_model().objects.all()}

    def step(self, key: int, action: str, role: str | None, data: dict[str, Any]) -> None:
        from grants import services
        from grants.actions import action_perform
        from grants.models import GrantApplication
        from grants.permissions import forget_roles
        from grants.selectors import NEEDED_TO_DECIDE, applications_visible_to

        if role is None:  # a member of the public files an objection: no login, no scoping
            application = GrantApplication.objects.get(pk=key)
            services.objection_file(application=application, text=data["text"])
            return
        community_id, _street = self.cast_keys[key]
        actor = self.users[self.cast.user_id(role, community_id)]
        forget_roles(actor)  # a new request loads the person's roles again
        if action == "pay_tranches":
            self.pay_tranches(actor, key)
            return
        # As the action view loads it (grants.views.application_action): scoped, with its fund and community.
        application = applications_visible_to(actor, loading=NEEDED_TO_DECIDE).get(pk=key)
        action_perform(action=action, actor=actor, application=application, data=data)

    def pay_tranches(self, actor: Any, key: int) -> None:
        from grants import models, services

        if not hasattr(models, "Tranche"):  # a checkout without the money module
            return
        for tranche in models.Tranche.objects.filter(application_id=key, status="payable"):
            services.tranche_pay(actor=actor, tranche=tranche, bank_reference=f"BENCH-{tranche.pk}")

    def prepare(self, count: int) -> list[int]:
        from bench.common import bulk_applications
        from grants.models import GrantApplication

        ids = bulk_applications(self.cast, count)
        self.cast_keys = {pk: (community_id, None) for pk, community_id in
                          GrantApplication.objects.filter(pk__in=ids).values_list("pk", "community_id")}
        write_completion_reports(ids)
        return ids

    def check(self, keys: Sequence[int], publicity: str) -> str:
        from grants.models import GrantApplication

        closed = GrantApplication.objects.filter(pk__in=keys, status="closed").count()
        return f"{closed} closed"


class StockWalker:
    """Stock viewflow: find the process's open task, then assign, start and execute it (or run the Handle)."""

    name = "stock viewflow"

    def __init__(self, cast: Cast) -> None:
        from django.contrib.auth import get_user_model

        self.cast = cast
        self.users = {user.pk: user for user in get_user_model().objects.all()}
        self.community_id = cast.community_ids[0]

    def prepare(self, count: int) -> list[int]:
        # Processes are started by the first step; the keys only say how many to walk.
        self.process_of: dict[int, int] = {}
        self.done_before = self.done()
        return list(range(count))

    def step(self, key: int, action: str, role: str | None, data: dict[str, Any]) -> None:
        from viewflow.workflow.models import Task
        from viewflow.workflow.nodes import View

        from bench.flows import StockFlow

        if action in UNTIMED:
            return
        if action == "submit":
            process = StockFlow.start.run()
            self.process_of[key] = process.pk
            return
        task = Task.objects.get(process_id=self.process_of[key], status="NEW")
        if isinstance(task.flow_task, View):
            user = self.users[self.cast.user_id(role or "secretary_general", self.community_id)]
            with task.activation() as activation:
                activation.assign(user)
                activation.start(None)
                activation.execute()
        else:  # the publicity Handle: an objection arrives
            task.flow_task.run(task)

    def done(self) -> int:
        from viewflow.workflow.models import Process

        return Process.objects.filter(flow_class__endswith="StockFlow", status="DONE").count()

    def check(self, keys: Sequence[int], publicity: str) -> str:
        # The workers kept their process ids to themselves: count what finished since `prepare`.
        return f"{self.done() - self.done_before} done"


class RawWalker:
    """The ceiling: the domain's minimal writes per step as four hand-written statements in one transaction."""

    name = "raw SQL"

    def __init__(self, cast: Cast) -> None:
        self.cast = cast

    def prepare(self, count: int) -> list[int]:
        """Applications in draft, each with a process row and a finished start task (viewflow's shape)."""
        from django.db import connection, transaction

        from bench.common import bulk_applications

        ids = bulk_applications(self.cast, count)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bench_raw_map (application_id bigint, process_id bigint)")
            cursor.execute("TRUNCATE bench_raw_map")
            rows = []
            for pk in ids:
                cursor.execute("INSERT INTO viewflow_process (flow_class, status, created, data) "
                               "VALUES ('bench/flows.StockFlow', 'NEW', now(), '{}') RETURNING id")
                process_id = cursor.fetchone()[0]
                cursor.execute("INSERT INTO viewflow_task (flow_task, flow_task_type, status, created, token, "
                               "process_id, data) VALUES ('bench/flows.StockFlow.start', 'START', 'DONE', now(), "
                               "'start', %s, '{}') RETURNING id", [process_id])
                rows.append((pk, process_id, cursor.fetchone()[0]))
        self.state = {pk: (process_id, task_id) for pk, process_id, task_id in rows}
        return ids

    def step(self, key: int, action: str, role: str | None, data: dict[str, Any]) -> None:
        from django.db import connection, transaction

        if action in UNTIMED:
            return
        source, target = self.transitions[key].pop(0)
        process_id, task_id = self.state[key]
        actor_id = None if role is None else self.cast.user_id(role, self.cast.community_ids[0])
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE grants_grantapplication SET status = %s, updated_at = now() "
                           "WHERE id = %s AND status = %s", [target, key, source])
            if cursor.rowcount != 1:
                raise RuntimeError(f"application {key} was not in {source}")
            cursor.execute("INSERT INTO grants_auditentry (application_id, action, from_state, to_state, actor_id, "
                           "comment, created_at) VALUES (%s, %s, %s, %s, %s, '', now())",
                           [key, action, source, target, actor_id])
            cursor.execute("UPDATE viewflow_task SET status = 'DONE', owner_id = %s, started = now(), "
                           "finished = now() WHERE id = %s", [actor_id, task_id])
            cursor.execute("INSERT INTO viewflow_task (flow_task, flow_task_type, status, created, token, "
                           "process_id, data) VALUES (%s, 'HUMAN', 'NEW', now(), 'start', %s, '{}') RETURNING id",
                           [f"bench/flows.StockFlow.{target}", process_id])
            self.state[key] = (process_id, cursor.fetchone()[0])

    def set_path(self, keys: Sequence[int], publicity: str) -> None:
        states = (*STATES_BEFORE, *(STATES_OBJECTION if publicity == "objection" else ("agreement",)),
                  *STATES_AFTER)
        pairs = list(itertools.pairwise(states))
        self.transitions = {key: list(pairs) for key in keys}

    def check(self, keys: Sequence[int], publicity: str) -> str:
        from grants.models import GrantApplication

        closed = GrantApplication.objects.filter(pk__in=keys, status="closed").count()
        return f"{closed} closed"


WALKERS: dict[str, Callable[[Cast], Any]] = {"domain": DomainWalker, "stock": StockWalker, "raw": RawWalker}


# --- One measured run ----------------------------------------------------------------------------------

BASE_TIME = "2025-03-03 09:00:00+08:00"  # a Monday; publicity (5 working days) ends before 2025-03-24


def walk(walker: Any, keys: Sequence[int], steps: Sequence[tuple], stats: Stats, counter: TimedCounter,
         deadline: float | None = None) -> list[int]:
    """Walk each key through the steps; with a deadline, start no new key after it. Returns the keys walked."""
    walked = []
    for key in keys:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        walked.append(key)
        for action, role, data in steps:
            before = counter.count
            started = time.perf_counter()
            walker.step(key, action, role, data)
            stats.add(action, counter.count - before, time.perf_counter() - started)
    return walked


def fire_publicity_timers(stats: Stats, counter: TimedCounter, traveller: Any) -> int:
    """Move past every publicity period and let viewflow's dispatcher fire the timers that are due."""
    import datetime as dt

    from viewflow.workflow.timers import fire_due_timers

    traveller.move_to(dt.datetime.fromisoformat(BASE_TIME) + dt.timedelta(days=21))
    before = counter.count
    started = time.perf_counter()
    fired = fire_due_timers()
    stats.add(TIMER_STEP, counter.count - before, time.perf_counter() - started, count=fired)
    return fired


def worker(variant: str, index: int, keys: Sequence[int], walker: Any, publicity: str, time_cap: float,
           start_gate: Any, phase_gate: Any, results: Any) -> None:
    """One process: wait for the others, walk its own applications segment by segment, report its figures."""
    import contextlib
    import datetime as dt

    from django.db import connection

    stats = Stats()
    counter = TimedCounter()
    travel: Any = contextlib.nullcontext()
    if publicity == "timer":
        import time_machine

        travel = time_machine.travel(dt.datetime.fromisoformat(BASE_TIME), tick=True)
    try:
        with travel as traveller, connection.execute_wrapper(counter):
            connection.ensure_connection()
            start_gate.wait()
            clock = Stopwatch()
            paused = 0.0
            deadline = clock.started + time_cap if time_cap else None
            for kind, steps in segments(publicity):
                if kind == "steps":
                    # The time cap only stops new applications from starting: those started finish.
                    keys = walk(walker, keys, steps, stats, counter, deadline)
                    deadline = None
                    stats.applications = len(keys)
                elif kind == "timer":
                    phase_gate.wait()  # everyone's applications are in publicity
                    if isinstance(walker, RawWalker):  # no timer rows: each process ends its own publicity
                        walk(walker, keys, ((TIMER_STEP, None, {}),), stats, counter)
                    elif index == 0:  # one dispatcher, as in production (celery beat runs it every minute)
                        fire_publicity_timers(stats, counter, traveller)
                    phase_gate.wait()
                    if index != 0:
                        traveller.move_to(dt.datetime.fromisoformat(BASE_TIME) + dt.timedelta(days=21))
                elif kind == "pay":
                    phase_gate.wait()
                    since, count, db_seconds = time.perf_counter(), counter.count, counter.seconds
                    if isinstance(walker, DomainWalker):
                        for key in keys:
                            walker.step(key, "pay_tranches", "finance", {})
                    phase_gate.wait()
                    paused += time.perf_counter() - since
                    counter.count, counter.seconds = count, db_seconds  # not the steps' queries or time
            stats.seconds = clock.seconds - paused
            stats.db_seconds = counter.seconds
        results.put((index, stats.plain(), None))
    except BaseException as exc:  # report, and never leave the others (or the parent) waiting at a barrier
        import traceback

        phase_gate.abort()
        results.put((index, None, "".join(traceback.format_exception(exc))))
        raise


@dataclass
class Run:
    variant: str
    processes: int
    wall: float
    stats: Stats
    note: str
    waits: str = "-"  # what the sessions were doing (WaitSampler)


def measure(variant: str, walker: Any, count: int, processes: int, publicity: str, time_cap: float) -> Run:
    """Prepare `count` fresh applications, fork the workers, time them from a common start to the last one."""
    from django.db import connections

    keys = walker.prepare(count)
    if isinstance(walker, RawWalker):
        walker.set_path(keys, publicity)
    shares = [keys[i::processes] for i in range(processes)]
    connections.close_all()  # children must not share the parent's socket
    context = mp.get_context("fork")
    start_gate = context.Barrier(processes + 1)
    phase_gate = context.Barrier(processes)
    results = context.Queue()
    children = [context.Process(target=worker, args=(variant, i, shares[i], walker, publicity, time_cap,
                                                     start_gate, phase_gate, results)) for i in range(processes)]
    for child in children:
        child.start()
    start_gate.wait()
    clock = Stopwatch()
    sampler = WaitSampler()
    sampler.start()
    total = Stats()
    errors = []
    active = []
    for _ in children:
        _index, stats, error = results.get()
        if error:
            errors.append(error)
        else:
            total.merge(stats)
            active.append(stats.seconds)
    sampler.stop()
    # All started together at the gate; the run lasts as long as its slowest worker was active.
    wall = max(active, default=clock.seconds)
    for child in children:
        child.join()
    if errors:
        raise SystemExit(f"{variant} with {processes} processes failed:\n" + "\n".join(errors))
    note = f"{walker.check(keys, publicity)}, {total.applications} walked"
    return Run(variant, processes, wall, total, note, sampler.summary())


class WaitSampler(threading.Thread):
    """Samples what the workers' database sessions are doing, every 20 ms, from the parent process.

    `active` with no wait event: PostgreSQL is working (or waiting for a CPU); `Lock:*`: waiting for a
    row or transaction lock held by another worker; `idle in transaction`: waiting for Python.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: Counter = Counter()
        self.halt = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            with connection.cursor() as cursor:
                while not self.halt.wait(0.02):
                    cursor.execute("SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                                   "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                   "AND backend_type = 'client backend'")
                    for state, kind, event in cursor.fetchall():
                        if state == "active":
                            self.samples[f"{kind}:{event}" if kind else "active (running)"] += 1
                        elif state and state.startswith("idle in transaction"):
                            self.samples["idle in transaction (Python)"] += 1
        finally:
            connection.close()

    def stop(self) -> None:
        self.halt.set()
        self.join()

    def summary(self) -> str:
        total = sum(self.samples.values())
        if not total:
            return "-"
        return ", ".join(f"{name} {n / total:.0%}" for name, n in self.samples.most_common(4))


# --- The one-step breakdown -------------------------------------------------------------------------------

PROJECT_DIRS = ("grants/", "workflows/", "notifications/")


def origin(frames_root: Path) -> Callable:
    """An execute_wrapper recording each statement with the project function and the viewflow code issuing it."""
    import sys as _sys

    records: list[tuple[str, str, str]] = []

    def wrapper(execute, sql, params, many, context):
        project = viewflow = bench = ""
        frame = _sys._getframe(1)
        while frame is not None and not (project and viewflow):
            filename = frame.f_code.co_filename
            if not project and filename.startswith(str(frames_root)) and "/.venv/" not in filename:
                relative = filename[len(str(frames_root)) + 1:]
                if relative.startswith(PROJECT_DIRS):
                    project = f"{relative}:{frame.f_code.co_name}"
                elif relative.startswith("bench/") and not bench and frame.f_code.co_name != "wrapper":
                    bench = f"{relative}:{frame.f_code.co_name} (the request's own load)"
            if not viewflow and "/site-packages/viewflow/" in filename:
                viewflow = f"viewflow/{filename.split('/site-packages/viewflow/', 1)[1]}:{frame.f_code.co_name}"
            frame = frame.f_back
        records.append((sql, project or bench, viewflow))
        return execute(sql, params, many, context)

    wrapper.records = records  # type: ignore[attr-defined]
    return wrapper


def breakdown_walk(cast: Cast, publicity: str, action_shown: str = BREAKDOWN_ACTION,
                   ) -> tuple[dict[str, int], dict[str, int], list, list]:
    """Walk one application and one stock process with every statement recorded (not timed).

    Returns the statements per action for both, and the recorded statements of `action_shown`.
    """
    from django.db import connection

    from bench.common import ROOT

    # Always the objection path: every step is somebody's action (the timer step is measured in the runs).
    steps = all_steps()
    found: dict[str, Any] = {}
    per_action: dict[str, dict[str, int]] = {"domain": {}, "stock": {}}
    for variant in ("domain", "stock"):
        walker = WALKERS[variant](cast)
        (key,) = walker.prepare(1)
        for action, role, data in steps:
            recorder = origin(ROOT)
            with connection.execute_wrapper(recorder):
                walker.step(key, action, role, data)
            per_action[variant][action] = len(recorder.records)  # type: ignore[attr-defined]
            if action == action_shown:
                found[variant] = recorder.records  # type: ignore[attr-defined]
    return per_action["domain"], per_action["stock"], found["domain"], found["stock"]


def profile_walk(walker: Any, count: int, publicity: str, top: int = 45) -> None:
    """Walk `count` applications in this process under cProfile; print the functions by own and total time."""
    import cProfile
    import pstats

    steps = all_steps()  # with the tranche payment: closing needs it (the stock walker skips it)
    keys = walker.prepare(count)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for key in keys:
        for action, role, data in steps:
            walker.step(key, action, role, data)
    profiler.disable()
    elapsed = time.perf_counter() - started
    print(f"{walker.name}: {count} applications, {count * len(steps)} steps, "
          f"{elapsed * 1000 / (count * len(steps)):.2f} ms a step under the profiler")
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        package = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        package = "/".join(package.split("/")[:3 if package.startswith("django/") else 2])
        by_package[package] = by_package.get(package, 0.0) + own
    steps_done = count * len(steps)
    print(table(["own time by package", "ms a step"],
                [(name, f"{seconds * 1000 / steps_done:.2f}") for name, seconds in
                 sorted(by_package.items(), key=lambda item: -item[1])[:25]]))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"/work/main/(grants|workflows|notifications)/", top)
    for name in os.environ.get("PROFILE_CALLERS", "").split(","):
        if name:
            stats.print_callers(name)


def warm_up(cast: Cast, publicity: str) -> None:
    """One full walk of each kind before the clocks start (imports, flow graph, prepared caches)."""
    steps = all_steps()
    for variant in ("domain", "stock"):
        walker = WALKERS[variant](cast)
        (key,) = walker.prepare(1)
        for action, role, data in steps:
            walker.step(key, action, role, data)


# --- Printing ---------------------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def report(runs: list[Run], processes: Sequence[int], args: argparse.Namespace, db_name: str, schema: str,
           per_action_domain: dict[str, int], per_action_stock: dict[str, int], domain_sql: list,
           stock_sql: list) -> None:
    print("== bench/lifecycle.py: application lifecycle throughput")
    for line in machine_lines(db_name):
        print(line)
    print(f"schema    : {schema}")
    steps_per_app = steps_per_application(args.publicity)
    cap = (f"; no application is started after {args.max_seconds:.0f} s of a run (--max-seconds), so a slow run "
           "walks fewer (see 'walked')" if args.max_seconds else "")
    print(f"N         : {args.applications} applications per run x {steps_per_app} steps "
          f"(submission -> closing); each run uses fresh applications, split evenly over the processes{cap}")
    if args.publicity == "objection":
        print("publicity : ended by the objection-dismissed path (a public objection is filed, the "
              "secretary-general dismisses it): two steps, both parallel")
    else:
        print("publicity : ended by the timer: time_machine moves past publicity_ends_on and ONE process calls "
              "viewflow's fire_due_timers() for all applications while the others wait (as one beat dispatcher "
              "would); the other steps run in parallel")
    print("step      : domain = scoped application load + action_perform/service as the deciding user (roles "
          "reloaded per step, like a request); stock = open-task load + assign/start/execute; "
          "raw = 4 statements in one transaction")
    print(f"command   : {command_line()}")
    print()

    by = {(run.variant, run.processes): run for run in runs}
    variants = [v for v in ("domain", "stock", "raw") if (v, processes[0]) in by]
    names = {"domain": "domain (services + sync)", "stock": "stock viewflow (bench/flows.py)",
             "raw": "raw SQL ceiling (4 statements)"}
    headers = ["variant", *[f"steps/s {p} proc" for p in processes], "queries/step", "ms/step (1 proc)",
               "in execute ms", "other Python ms", "check"]
    rows = []
    for variant in variants:
        one = by[(variant, processes[0])]
        ms = one.stats.seconds / one.stats.steps * 1000
        db_ms = one.stats.db_seconds / one.stats.steps * 1000
        rows.append([names[variant], *[fmt(by[(variant, p)].stats.steps / by[(variant, p)].wall) for p in processes],
                     fmt(one.stats.queries / one.stats.steps), fmt(ms, 2), fmt(db_ms, 2), fmt(ms - db_ms, 2),
                     one.note])
    print(table(headers, rows))
    print("(in execute = time inside cursor.execute per step: round trip, driver and server; other Python = the "
          "rest of the step)")
    print()
    if "domain" in variants and "stock" in variants:
        for p in processes:
            d, s = by[("domain", p)], by[("stock", p)]
            print(f"domain/stock rate, {p} proc : {d.stats.steps / d.wall / (s.stats.steps / s.wall):.2f}  "
                  "(target >= 0.85)")
        d1, s1 = by[("domain", processes[0])].stats, by[("stock", processes[0])].stats
        print(f"domain - stock queries/step: {d1.queries / d1.steps - s1.queries / s1.steps:+.1f}  (target <= +2)")
        if "raw" in variants:
            r = by[("raw", processes[0])]
            print(f"domain/raw rate, {processes[0]} proc   : "
                  f"{d1.steps / by[('domain', processes[0])].wall / (r.stats.steps / r.wall):.2f}")
    print()

    print("Queries per step by action (one application walked with every statement recorded):")
    rows = []
    money = {a: n for a, n in per_action_domain.items() if a in UNTIMED}
    per_action_domain = {a: n for a, n in per_action_domain.items() if a not in UNTIMED}
    per_action_stock = {a: n for a, n in per_action_stock.items() if a not in UNTIMED}
    for action in per_action_domain:
        rows.append([action, per_action_domain[action], per_action_stock.get(action, ""),
                     f"{per_action_domain[action] - per_action_stock.get(action, 0):+d}"])
    if args.publicity == "timer":
        d = by[("domain", processes[0])].stats.per_action.get(TIMER_STEP)
        s = by[("stock", processes[0])].stats.per_action.get(TIMER_STEP) if ("stock", processes[0]) in by else None
        if d:
            rows.append([f"{TIMER_STEP}, per timer fired", fmt(d[1] / d[0]), fmt(s[1] / s[0]) if s else "", ""])
    total_d, total_s = sum(per_action_domain.values()), sum(per_action_stock.values())
    rows.append(["mean", fmt(total_d / len(per_action_domain)), fmt(total_s / len(per_action_stock)),
                 f"{(total_d - total_s) / len(per_action_domain):+.1f}"])
    for _action, n in money.items():
        rows.append([f"({UNTIMED_LABEL}: not a step, not in the mean)", n, "", ""])
    print(table(["action", "domain", "stock", "difference"], rows))
    print()

    print("Where the workers' database sessions were, sampled every 20 ms (Lock:* = waiting for another worker's "
          "lock; idle in transaction = the database waits for Python; active (running) = PostgreSQL at work "
          "or waiting for a CPU):")
    print(table(["run", "samples"], [[f"{names[run.variant].split(' (')[0]}, {run.processes} proc", run.waits]
                                     for run in runs]))
    print()

    print("Mean ms per action in the timed runs (a rise with more processes in one action only points at a lock):")
    columns = [(v, p) for v in ("domain", "stock") for p in processes if (v, p) in by]
    actions = list(by[columns[0]].stats.per_action) if columns else []
    rows = []
    for action in actions:
        row = [action]
        for key in columns:
            cell = by[key].stats.per_action.get(action)
            row.append(fmt(cell[2] / cell[0] * 1000, 2) if cell else "")
        rows.append(row)
    print(table(["action", *[f"{v} ms, {p} proc" for v, p in columns]], rows))
    print()

    print(f"Breakdown of ONE domain step: `{args.breakdown}`, "
          f"{len(domain_sql)} statements, vs the same task in stock viewflow ({len(stock_sql)}):")
    domain_kinds = dict(breakdown([sql for sql, _p, _v in domain_sql]))
    stock_kinds = dict(breakdown([sql for sql, _p, _v in stock_sql]))
    rows = [[kind, n, stock_kinds.get(kind, 0), f"{n - stock_kinds.get(kind, 0):+d}"]
            for kind, n in domain_kinds.items()]
    rows += [[kind, 0, n, f"{-n:+d}"] for kind, n in stock_kinds.items() if kind not in domain_kinds]
    print(table(["statement (kind, table)", "domain", "stock", "difference"], rows))
    print()
    print("The same domain step statement by statement (who issues it: the innermost project function, and "
          "the viewflow code it went through):")
    rows = [[n, classify(sql), project or "-", viewflow or "-"] for n, (sql, project, viewflow)
            in enumerate(domain_sql, start=1)]
    print(table(["#", "statement", "project function", "viewflow"], rows))
    print()
    by_function: dict[str, int] = defaultdict(int)
    for _sql, project, viewflow in domain_sql:
        by_function[project or f"(viewflow only) {viewflow.split(':')[0]}"] += 1
    print("Statements of that step per project function:")
    print(table(["function", "statements"], sorted(by_function.items(), key=lambda kv: -kv[1])))


# --- Main ------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", "-n", type=int, default=200,
                        help="applications (or stock processes) walked per run (default 200)")
    parser.add_argument("--processes", default="1,2",
                        help="comma-separated process counts to run with (default 1,2)")
    parser.add_argument("--publicity", choices=("objection", "timer"), default="objection",
                        help="how publicity ends: the objection-dismissed path (default) or time_machine + "
                             "fire_due_timers()")
    parser.add_argument("--max-seconds", type=float, default=25.0,
                        help="per run, start no new application after this many seconds (those started finish); "
                             "0: walk all N (default 25, to keep the default run near 3 minutes)")
    parser.add_argument("--variants", default="domain,stock,raw", help="which to run (default domain,stock,raw)")
    parser.add_argument("--schema", choices=("auto", "migrate", "models"), default="auto",
                        help="migrate the scratch database, or build it from the models (auto: migrate unless "
                             "the migrations lag the models)")
    parser.add_argument("--breakdown", default=BREAKDOWN_ACTION,
                        choices=[action for action, _role, _data in all_steps() if action not in UNTIMED],
                        help=f"the step shown statement by statement (default {BREAKDOWN_ACTION})")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database for inspection")
    parser.add_argument("--profile", metavar="VARIANT", choices=("domain", "stock"),
                        help="instead of the timed runs, walk N applications of that variant in this process under "
                             "cProfile and print where the Python time goes")
    args = parser.parse_args(argv)
    processes = [int(p) for p in args.processes.split(",")]
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]

    load_at_start = load_text()
    with scratch_database("bench_lifecycle", keep=args.keep_db, schema=args.schema) as scratch:
        cast = make_cast(streets=1, communities_per_street=1)
        no_completion_documents(cast)
        warm_up(cast, args.publicity)
        if args.profile:
            profile_walk(WALKERS[args.profile](cast), args.applications, args.publicity)
            return
        per_domain, per_stock, domain_sql, stock_sql = breakdown_walk(cast, args.publicity, args.breakdown)
        runs = []
        for variant in variants:
            for p in processes:
                walker = WALKERS[variant](cast)
                started = time.perf_counter()
                runs.append(measure(variant, walker, args.applications, p, args.publicity, args.max_seconds))
                print(f"  ran {variant:6s} x {p} proc in {time.perf_counter() - started:5.1f} s", file=sys.stderr)
        print()
        print(f"load at start: {load_at_start}")
        report(runs, processes, args, scratch.name, scratch.schema, per_domain, per_stock, domain_sql, stock_sql)


if __name__ == "__main__":
    main()

"""HTTP latency: the decision POST and the task pages under 20 concurrent clients, against a real server.

Run from the project root (it creates, fills and drops its own scratch PostgreSQL database and starts and
stops its own server on 127.0.0.1):

    .venv/bin/python bench/http_latency.py                          # 5,000 applications (quick)
    .venv/bin/python bench/http_latency.py --applications 100000    # the issue's figure
    .venv/bin/python bench/http_latency.py --clients 40 --requests 2000 --duration 60

1. Organisations and people: 5 street offices with 4 communities each; per street 4 reviewers and a
   leader, per community an applicant and a head, and the foundation's roles.
2. M applications waiting at street review, each with its process and open human task (and the task's
   two armed timers), spread evenly over the communities: one per community is walked there through
   the real services, the rest are bulk copies of those rows (bulk_create), so they look exactly alike.
   A share of the tasks (default 20%) has been taken by a reviewer, so inboxes are not empty.
3. `gunicorn config.wsgi -w 2` (or `manage.py runserver --noreload` without gunicorn), DEBUG off, static
   files collected into a temporary folder. The clients log in through /accounts/login/ and keep the
   session and CSRF cookies themselves: with DEBUG off they are Secure cookies, which a client would
   not send over plain http, so the benchmark sets the Cookie header by hand.
4. Each scenario runs with 1 client (service time, no queueing) and with N concurrent clients (threads
   with http.client over loopback), bounded by a number of requests and a time limit.

It prints figures and never asserts on them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BENCH_ENV,
    ROOT,
    Cast,
    breakdown,
    classify,
    command_line,
    database_url,
    load_text,
    machine_lines,
    make_cast,
    percentile,
    scratch_database,
    table,
)

HOST = "127.0.0.1"
PASSWORD = "bench-password-not-secret"
DECISION = "street_approve"
TARGETS = {"decision POST": 60.0, "inbox GET": 100.0}


# --- Data -----------------------------------------------------------------------------------------------


def _copy(instance: Any, *, skip: Sequence[str] = ("id",), **changes: Any) -> Any:
    """An unsaved copy of a model instance with every concrete field but `skip`, and `changes`."""
    model = type(instance)
    values = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields
              if f.attname not in skip and f.name not in skip}
    values.update(changes)
    return model(**values)


@dataclass
class Template:
    """One application walked to street review through the services, and its rows, to be copied."""

    application: Any
    audit: list
    lines: list
    groups: list
    process: Any
    tasks: list
    links: list  # (from_task_id, to_task_id) of viewflow_task_previous
    street_review_task_id: int


def walk_templates(cast: Cast) -> list[Template]:
    """One application per community, moved to street review by its applicant and community head."""
    from django.contrib.auth import get_user_model
    from viewflow.workflow.models import Process, Task

    from bench.common import bulk_applications
    from grants.actions import action_perform
    from grants.models import AuditEntry, BeneficiaryGroup, BudgetLine, GrantApplication
    from workflows.models import GrantProcess

    users = {user.pk: user for user in get_user_model().objects.all()}
    templates = []
    for pk in bulk_applications(cast, len(cast.community_ids)):
        for action, role in (("submit", "applicant"), ("confirm", "community_head")):
            application = GrantApplication.objects.get(pk=pk)
            actor = users[cast.user_id(role, application.community_id)]
            action_perform(action=action, actor=actor, application=application, data={})
        application = GrantApplication.objects.get(pk=pk)
        assert application.status == "street_review", application.status
        process = Process.objects.get(pk=GrantProcess.objects.get(application=application).pk)
        tasks = list(Task.objects.filter(process=process).order_by("pk"))
        links = list(Task.previous.through.objects.filter(from_task__process=process)
                     .values_list("from_task_id", "to_task_id"))
        review = next(t for t in tasks if t.flow_task.name == "street_review" and t.status == "NEW")
        templates.append(Template(application, list(AuditEntry.objects.filter(application=application)),
                                  list(BudgetLine.objects.filter(application=application)),
                                  list(BeneficiaryGroup.objects.filter(application=application)),
                                  process, tasks, links, review.pk))
    return templates


def clone_applications(cast: Cast, templates: list[Template], total: int, *, assigned_share: float,
                       batch: int = 1000) -> dict[int, list[int]]:
    """Copy the templates until there are `total` applications at street review; returns the unassigned
    application ids of each street (the decisions the clients may take).

    A share of the street-review tasks is taken by one of the street's reviewers (status ASSIGNED).
    """
    from django.db import connection, transaction
    from django.utils import timezone
    from viewflow.workflow.models import Process, Task

    from grants.models import AuditEntry, BeneficiaryGroup, BudgetLine, GrantApplication

    link_model = Task.previous.through
    free: dict[int, list[int]] = {street: [] for street in cast.street_ids}
    every = round(1 / assigned_share) if assigned_share > 0 else 0
    now = timezone.now()
    count = len(templates)
    for template in templates:  # the walked ones are unassigned
        free[cast.street_of[template.application.community_id]].append(template.application.pk)
    taken_so_far: Counter = Counter()  # per street, so that every reviewer of every street gets some
    while count < total:
        size = min(batch, total - count)
        chosen = [templates[(count + n) % len(templates)] for n in range(size)]
        with transaction.atomic():
            apps = [_copy(t.application, title=f"{t.application.title} #{count + n + 1}")
                    for n, t in enumerate(chosen)]
            GrantApplication.objects.bulk_create(apps)
            AuditEntry.objects.bulk_create([_copy(a, application_id=app.pk) for app, t in zip(apps, chosen,
                                                                                             strict=True)
                                            for a in t.audit])
            BudgetLine.objects.bulk_create([_copy(line, application_id=app.pk)
                                            for app, t in zip(apps, chosen, strict=True) for line in t.lines])
            BeneficiaryGroup.objects.bulk_create([_copy(g, application_id=app.pk)
                                                  for app, t in zip(apps, chosen, strict=True) for g in t.groups])
            processes = [_copy(t.process) for t in chosen]
            Process.objects.bulk_create(processes)
            with connection.cursor() as cursor:  # the multi-table child rows: bulk_create cannot do MTI
                # The copied application keeps its template's community and fund: so do the scope columns.
                cursor.execute("INSERT INTO workflows_grantprocess (process_ptr_id, application_id, community_id, "
                               "street_office_id, foundation_id) "
                               "SELECT u.process, u.application, t.community_id, t.street_office_id, t.foundation_id "
                               "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS u(process, application, "
                               "template) JOIN workflows_grantprocess t ON t.process_ptr_id = u.template",
                               [[p.pk for p in processes], [a.pk for a in apps], [t.process.pk for t in chosen]])
            new_tasks: list[Any] = []
            owners = []
            for app, process, t in zip(apps, processes, chosen, strict=True):
                street = cast.street_of[app.community_id]
                seen = taken_so_far[street]
                taken_so_far[street] += 1
                taken = every and seen % every == every - 1
                owner = cast.reviewers[street][(seen // every) % len(cast.reviewers[street])] if taken else None
                if not taken:
                    free[street].append(app.pk)
                for task in t.tasks:
                    copy = _copy(task, skip=("id", "process"), process_id=process.pk)
                    if task.pk == t.street_review_task_id and owner:
                        copy.status, copy.owner_id, copy.assigned = "ASSIGNED", owner, now
                    new_tasks.append(copy)
                owners.append(owner)
            Task.objects.bulk_create(new_tasks)
            links = []
            offset = 0
            for t in chosen:
                mapping = {old.pk: new_tasks[offset + i].pk for i, old in enumerate(t.tasks)}
                links += [link_model(from_task_id=mapping[a], to_task_id=mapping[b]) for a, b in t.links]
                offset += len(t.tasks)
            link_model.objects.bulk_create(links)
        count += size
    with connection.cursor() as cursor:  # planner statistics, as autovacuum would have them by now
        cursor.execute("ANALYZE")
    return free


# --- HTTP clients ---------------------------------------------------------------------------------------


class Session:
    """A logged-in browser: the cookies kept by hand (they are Secure with DEBUG off) and one connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, fields: dict[str, str] | None = None) -> tuple[int, bytes]:
        headers = {"Host": f"{HOST}:{self.port}"}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            fields = dict(fields or {})
            fields.setdefault("csrfmiddlewaretoken", self.cookies.get("csrftoken", ""))
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        # A new connection per request: gunicorn's sync workers close the connection after each response.
        connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
            return response.status, data
        finally:
            connection.close()

    def login(self, username: str) -> None:
        self.request("GET", "/accounts/login/")
        status, _body = self.request("POST", "/accounts/login/", {"username": username, "password": PASSWORD,
                                                                  "next": "/"})
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed with HTTP {status}")


@dataclass
class Result:
    name: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    how: str = "HTTP"

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in self.ok)

    ok: tuple = (200, 302)


def run_load(name: str, jobs: Sequence[Iterator[Callable[[], int]]], *, max_requests: int,
             duration: float, think: float = 0.0) -> Result:
    """One thread per client; each takes its own jobs until the shared budget or the time runs out.

    `think`: seconds a client pauses after each answer, on average (exponentially distributed, as a
    person reading the page would); 0 sends the next request at once (the most the server can be asked).
    """
    pauses = random.Random(7)
    result = Result(name, len(jobs))
    lock = threading.Lock()
    issued = 0
    deadline = time.perf_counter() + duration
    start_gate = threading.Barrier(len(jobs))

    def client(own: Iterator[Callable[[], int]]) -> None:
        nonlocal issued
        latencies, statuses = [], Counter()
        start_gate.wait()
        if think:  # people do not all click at the same moment: a first pause spreads the starts
            with lock:
                pause = pauses.uniform(0, 2 * think)
            time.sleep(pause)
        for job in own:
            with lock:
                if issued >= max_requests or time.perf_counter() >= deadline:
                    break
                issued += 1
            started = time.perf_counter()
            try:
                status = job()
            except Exception as exc:  # a refused connection or a timeout counts as an error
                status = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            statuses[status] += 1
            if think:
                with lock:
                    pause = pauses.expovariate(1 / think)
                time.sleep(pause)
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
        from django.db import connections

        connections.close_all()  # this thread's own connections (in-process decisions open one)

    threads = [threading.Thread(target=client, args=(own,)) for own in jobs]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def repeat(job: Callable[[], int]) -> Iterator[Callable[[], int]]:
    while True:
        yield job


# --- The server -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def server(db_name: str, port: int, workers: int) -> Iterator[str]:
    """Start gunicorn (or runserver) on loopback, wait for /healthz, and stop exactly that process."""
    env = {**os.environ, **BENCH_ENV, "DATABASE_URL": database_url(db_name),
           "DJANGO_SETTINGS_MODULE": "bench.settings"}
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    if gunicorn.exists():
        command = [str(gunicorn), "config.wsgi", "-w", str(workers), "-b", f"{HOST}:{port}", "--log-level",
                   "warning", "--timeout", "120"]
        how = f"gunicorn config.wsgi -w {workers} (sync workers) -b {HOST}:{port}"
    else:
        command = [sys.executable, "manage.py", "runserver", f"{HOST}:{port}", "--noreload"]
        how = f"manage.py runserver {HOST}:{port} --noreload (gunicorn is not installed)"
    log = tempfile.NamedTemporaryFile("w+", prefix="bench_server_", suffix=".log", delete=False)
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if child.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the server exited with {child.returncode}:\n{log.read()[-3000:]}")
            with contextlib.suppress(OSError):
                status, _body = Session(port).request("GET", "/healthz")
                if status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz within 60 s")
            time.sleep(0.3)
        yield how
    finally:
        child.send_signal(signal.SIGTERM)  # gunicorn's master stops its own workers
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()
        errors = Path(log.name).read_text(errors="replace")
        Path(log.name).unlink(missing_ok=True)
        if "Traceback" in errors:
            print("server log (tracebacks):\n" + errors[-4000:], file=sys.stderr)


# --- Queries per request (in-process, test client) ------------------------------------------------------


def queries_per_request(user_id: int, app_id: int | None) -> list[list[Any]]:
    """Statements of one request of each kind, through Django's test client in this process.

    BEGIN/COMMIT are left out (the lifecycle benchmark does not count them either).
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    user = get_user_model().objects.get(pk=user_id)
    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    rows = []
    paths = [("GET", "/healthz"), ("GET", "/tasks/inbox/"), ("GET", "/tasks/queue/")]
    if app_id is not None:
        paths.append(("POST", f"/applications/{app_id}/actions/{DECISION}/"))
    for method, path in paths:
        client.get(path) if method == "GET" else None  # warm: the first request compiles templates
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.post(path, {"comment": ""}) if method == "POST" else client.get(path)
            seconds = time.perf_counter() - started
        queries = [q for q in captured.captured_queries
                   if q["sql"].split(" ", 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
        kinds = breakdown([q["sql"] for q in queries])
        db_seconds = sum(float(q["time"]) for q in queries)
        slowest = sorted(queries, key=lambda q: -float(q["time"]))[:3]
        rows.append([f"{method} {path}", response.status_code, len(queries), ms(seconds), ms(db_seconds),
                     ", ".join(f"{kind} x{n}" for kind, n in kinds),
                     ", ".join(f"{classify(q['sql'])} {float(q['time']) * 1000:.1f} ms" for q in slowest)])
    return rows


def inbox_and_queue_sizes(user_id: int) -> tuple[int, int]:
    from django.contrib.auth import get_user_model

    from workflows.selectors import tasks_inbox, tasks_queue

    user = get_user_model().objects.get(pk=user_id)
    return tasks_inbox(user).count(), tasks_queue(user).count()


# --- In-process stand-ins (when the pages do not exist yet) ---------------------------------------------


def in_process_decision_jobs(cast: Cast, partitions: list[list[int]], users: list[int]) -> list[Iterator]:
    """`grants.actions.action_perform` called from threads of this process, for want of the page."""
    from django.contrib.auth import get_user_model

    from grants.actions import action_perform
    from grants.permissions import forget_roles
    from grants.selectors import applications_visible_to

    people = {u.pk: u for u in get_user_model().objects.filter(pk__in=users)}

    def jobs(own: list[int], user_id: int) -> Iterator[Callable[[], int]]:
        for app_id in own:
            def job(app_id: int = app_id) -> int:
                actor = people[user_id]
                forget_roles(actor)
                application = applications_visible_to(actor).get(pk=app_id)
                action_perform(action=DECISION, actor=actor, application=application, data={})
                return 302
            yield job

    return [jobs(own, user) for own, user in zip(partitions, users, strict=True)]


# --- Main -----------------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", "-n", type=int, default=5000,
                        help="applications waiting at street review (default 5000; the issue: 100000)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--requests", type=int, default=400,
                        help="at most this many requests per scenario (default 400; /healthz: 5x)")
    parser.add_argument("--duration", type=float, default=20.0, help="at most this many seconds per scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--streets", type=int, default=5)
    parser.add_argument("--communities-per-street", type=int, default=4)
    parser.add_argument("--reviewers-per-street", type=int, default=4)
    parser.add_argument("--assigned-share", type=float, default=0.2,
                        help="share of street-review tasks already taken by a reviewer (default 0.2)")
    parser.add_argument("--think-ms", type=float, default=1000.0,
                        help="also run the 20-client scenarios with clients pausing this long on average after "
                             "each answer, as people do (default 1000; 0: only back-to-back requests)")
    parser.add_argument("--in-process", action="store_true",
                        help="take decisions with action_perform in threads even if the page exists")
    parser.add_argument("--schema", choices=("auto", "migrate", "models"), default="auto")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    import warnings

    # WhiteNoise warns that STATIC_ROOT does not exist: the benchmark serves no static files.
    warnings.filterwarnings("ignore", message="No directory at")
    load_at_start = load_text()
    with scratch_database("bench_http", keep=args.keep_db, schema=args.schema) as scratch:
        run(args, scratch, load_at_start)


def run(args: argparse.Namespace, scratch: Any, load_at_start: str) -> None:
    from django.contrib.auth import get_user_model
    from django.urls import Resolver404, resolve

    clock = time.perf_counter()
    cast = make_cast(streets=args.streets, communities_per_street=args.communities_per_street,
                     reviewers_per_street=args.reviewers_per_street, password=PASSWORD)
    templates = walk_templates(cast)
    free = clone_applications(cast, templates, args.applications, assigned_share=args.assigned_share)
    setup_seconds = time.perf_counter() - clock
    print(f"  {args.applications} applications ready in {setup_seconds:.1f} s", file=sys.stderr)

    try:
        resolve(f"/applications/1/actions/{DECISION}/")
        decision_url_exists = not args.in_process
    except Resolver404:
        decision_url_exists = False
    # Client i is reviewer i (round robin over the streets), deciding its own share of its street's work.
    reviewer_ids = [r for rs in zip(*cast.reviewers.values(), strict=False) for r in rs]
    clients = [reviewer_ids[i % len(reviewer_ids)] for i in range(args.clients)]
    users = {u.pk: u.username for u in get_user_model().objects.filter(pk__in=clients)}
    street_of_user = {r: street for street, rs in cast.reviewers.items() for r in rs}
    per_street_clients: dict[int, list[int]] = {}
    for index, user in enumerate(clients):
        per_street_clients.setdefault(street_of_user[user], []).append(index)
    partitions: list[list[int]] = [[] for _ in clients]
    baseline_apps: list[int] = []
    for street, indexes in per_street_clients.items():
        apps = free[street]
        baseline_apps += apps[:40] if street == street_of_user[clients[0]] else []
        apps = apps[40:] if street == street_of_user[clients[0]] else apps
        for n, index in enumerate(indexes):
            partitions[index] = apps[n::len(indexes)]

    # One of the first client's applications is decided here, in process, to count its statements.
    request_queries = queries_per_request(clients[0], partitions[0].pop() if decision_url_exists else None)
    inbox_size, queue_size = inbox_and_queue_sizes(clients[0])

    results: list[Result] = []
    from django.db import connections

    connections.close_all()
    with server(scratch.name, args.port, args.workers) as how:
        sessions = []
        for user in clients:
            session = Session(args.port)
            session.login(users[user])
            sessions.append(session)

        def get(session: Session, path: str) -> Callable[[], int]:
            return lambda: session.request("GET", path)[0]

        def post(session: Session, app_id: int) -> Callable[[], int]:
            return lambda: session.request("POST", f"/applications/{app_id}/actions/{DECISION}/",
                                           {"comment": ""})[0]

        budget = {"healthz GET": args.requests * 5}
        for name, path in (("healthz GET", "/healthz"), ("inbox GET", "/tasks/inbox/"),
                           ("queue GET", "/tasks/queue/")):
            results.append(run_load(name, [repeat(get(sessions[0], path))], max_requests=30,
                                    duration=args.duration))
            results.append(run_load(name, [repeat(get(s, path)) for s in sessions],
                                    max_requests=budget.get(name, args.requests), duration=args.duration))
        if decision_url_exists:
            baseline = [iter([post(sessions[0], a) for a in baseline_apps[:30]])]
            results.append(run_load("decision POST", baseline, max_requests=30, duration=args.duration))
            # Kept for the run with pauses below, which goes on with each client's next application.
            decisions = [iter([post(s, a) for a in own]) for s, own in zip(sessions, partitions, strict=True)]
            results.append(run_load("decision POST", decisions, max_requests=args.requests,
                                    duration=args.duration))
        if args.think_ms and decision_url_exists:
            # People, not a load generator: each client reads the answer for `--think-ms` on average.
            think = args.think_ms / 1000
            for name, path in (("inbox GET", "/tasks/inbox/"), ("queue GET", "/tasks/queue/")):
                result = run_load(name, [repeat(get(s, path)) for s in sessions], max_requests=args.requests,
                                  duration=args.duration, think=think)
                result.how = f"think {args.think_ms:,.0f} ms"
                results.append(result)
            result = run_load("decision POST", decisions, max_requests=args.requests, duration=args.duration,
                              think=think)
            result.how = f"think {args.think_ms:,.0f} ms"
            results.append(result)
        if not decision_url_exists:
            baseline = in_process_decision_jobs(cast, [baseline_apps[:30]], [clients[0]])
            result = run_load("decision POST", baseline, max_requests=30, duration=args.duration)
            result.how = "in-process"
            results.append(result)
            jobs = in_process_decision_jobs(cast, partitions, clients)
            result = run_load("decision POST", jobs, max_requests=args.requests, duration=args.duration)
            result.how = "in-process"
            results.append(result)

    print()
    print(f"load at start: {load_at_start}")
    print("== bench/http_latency.py: decision POST and task pages under concurrent clients")
    for line in machine_lines(scratch.name):
        print(line)
    print(f"schema    : {scratch.schema}")
    per_street = args.applications / args.streets
    print(f"M         : {args.applications:,} applications at street review (each with its process, an open "
          f"human task and two armed timers), over {args.streets} streets x {args.communities_per_street} "
          f"communities; {args.assigned_share:.0%} of the tasks taken by a reviewer (a reviewer's inbox about "
          f"{per_street * args.assigned_share / args.reviewers_per_street:,.0f} tasks, the street's queue about "
          f"{per_street * (1 - args.assigned_share):,.0f}); built in {setup_seconds:.1f} s")
    print(f"server    : {how}; DJANGO_SETTINGS_MODULE=bench.settings (config.settings + plain static storage, "
          f"see bench/settings.py), DEBUG=false, DATABASE_URL={database_url(scratch.name)}, CONN_MAX_AGE=60")
    print(f"clients   : {args.clients} threads in this process (http.client, a new loopback connection per "
          f"request, session and CSRF cookies set by hand since they are Secure), each logged in as one of "
          f"{len(set(clients))} street reviewers; at most {args.requests} requests (healthz {args.requests * 5}) "
          f"or {args.duration:.0f} s per scenario; the 1-client rows show the service time without queueing")
    if args.think_ms:
        print(f"think     : rows marked 'think {args.think_ms:,.0f} ms': the {args.clients} clients pause after each "
              f"answer, {args.think_ms:,.0f} ms on average (exponential), as people reading a page do; the other "
              f"{args.clients}-client rows send the next request at once (with 2 sync workers most of their latency "
              "is queueing)")
    if not decision_url_exists:
        print(f"decision  : /applications/<id>/actions/{DECISION}/ does not exist (or --in-process): decisions "
              "are grants.actions.action_perform calls from threads of this process (scoped load + service), "
              "not HTTP")
    else:
        print(f"decision  : POST /applications/<id>/actions/{DECISION}/ (comment empty), each application once, "
              "redirect not followed; 302 = decided")
    print(f"command   : {command_line()}")
    print()
    rows = []
    for r in results:
        values = sorted(r.latencies)
        target = TARGETS.get(r.name)
        p95 = percentile(values, 95)
        verdict = "" if target is None or r.clients == 1 else (
            f"p95 < {target:.0f} ms: {'met' if p95 * 1000 < target else 'NOT met'}")
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items(), key=str))
        rows.append([r.name + ("" if r.how == "HTTP" else f" ({r.how})"), r.clients, len(values),
                     f"{len(values) / r.seconds:,.1f}" if r.seconds else "-", ms(percentile(values, 50)), ms(p95),
                     ms(percentile(values, 99)), ms(values[-1]) if values else "-", statuses, verdict])
    print(table(["scenario", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses",
                 "aim (from the issue)"], rows))
    print()
    print(f"Queries per request (one request each as {users[clients[0]]}, whose inbox holds {inbox_size} and "
          f"queue {queue_size} tasks, through Django's test client in this process, same database, no "
          "concurrent load; ms are single samples; BEGIN/COMMIT not counted):")
    print(table(["request", "status", "queries", "ms", "DB ms"], [row[:5] for row in request_queries]))
    for row in request_queries:
        print(textwrap.fill(f"{row[0]}: {row[5]}", width=110, subsequent_indent="    "))
        print(textwrap.fill(f"    slowest: {row[6]}", width=110, subsequent_indent="    "))


if __name__ == "__main__":
    main()

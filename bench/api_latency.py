"""API latency: the application and task lists of /api/v1/ under 20 concurrent clients, against a real server.

Run from the project root (it creates, fills and drops its own scratch PostgreSQL database and starts and
stops its own server on 127.0.0.1):

    .venv/bin/python bench/api_latency.py                          # 100,000 applications (the issue's size)
    .venv/bin/python bench/api_latency.py --applications 20000      # quicker
    .venv/bin/python bench/api_latency.py --clients 40 --requests 2000 --duration 60
    .venv/bin/python bench/api_latency.py --workers 2 --threads 4 --keep-alive   # gthread workers, kept connections

1. Organisations and people (bench.common.make_cast): 5 street offices x 4 communities, one person per
   role, each with an API token (rest_framework.authtoken).
2. N applications spread over the communities (bench.common.bulk_applications: two budget lines and a
   beneficiary group each) in a mix of states: 10% drafts, 40% at street review, 20% at foundation review,
   30% in progress, interleaved in chunks along the ids. Then ANALYZE.
3. The server of bench/http_latency.py (gunicorn, 2 sync workers, DEBUG off, bench.settings); `--threads`
   makes them gthread workers (GUNICORN_CMD_ARGS), which can keep a connection open between requests.
4. Each scenario with 1 client (service time, no queueing) and N concurrent clients (threads, http.client,
   a new loopback connection per request, or one kept open with `--keep-alive`, `Authorization: Token ...`),
   bounded by requests and time (the ceiling is measured with the same clients and server):
   `/healthz` (the ceiling: a trivial Django view), then the API lists as the people who use them.

It prints figures and never asserts on them.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Cast,
    breakdown,
    bulk_applications,
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
from bench.http_latency import HOST, Result, ms, repeat, run_load, server

TARGET_P95_MS = 100.0
# Share of the applications in each state (the rest of bulk_applications' fields stay as it makes them).
STATE_MIX = (("draft", 0.10), ("street_review", 0.40), ("foundation_review", 0.20), ("in_progress", 0.30))


def seed(cast: Cast, total: int, *, chunk: int = 1000) -> dict[str, int]:
    """The applications in the mix of states, interleaved by chunks (so that no state sits at one end of the
    id order, which the lists walk), then planner statistics; returns how many of each."""
    from django.db import connection

    wanted = {state: round(total * share) for state, share in STATE_MIX}
    wanted[STATE_MIX[-1][0]] += total - sum(wanted.values())
    counts = dict.fromkeys(wanted, 0)
    while sum(counts.values()) < total:
        for state, share in STATE_MIX:
            size = min(round(chunk * share * len(STATE_MIX)) or 1, wanted[state] - counts[state])
            if size > 0:
                bulk_applications(cast, size, status=state)
                counts[state] += size
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return counts


def tokens(cast: Cast) -> dict[str, str]:
    """An API token for each person the scenarios act as: role name -> key."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    first = cast.community_ids[0]
    people = {role: cast.user_id(role, first) for role in ("applicant", "street_reviewer", "programme_officer")}
    users = get_user_model().objects.in_bulk(people.values())
    return {role: Token.objects.get_or_create(user=users[pk])[0].key for role, pk in people.items()}


class Client:
    """One load-generating client: a new loopback connection per request, or one kept open (`--keep-alive`)."""

    def __init__(self, port: int, *, keep_alive: bool = False) -> None:
        self.port, self.keep_alive = port, keep_alive
        self.connection: http.client.HTTPConnection | None = None

    def get(self, path: str, token: str | None) -> int:
        headers = {"Host": f"{HOST}:{self.port}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        reused = self.connection is not None
        try:
            return self._get(path, headers)
        except (http.client.RemoteDisconnected, ConnectionError):
            if not reused:
                raise
            return self._get(path, headers)  # the server closed an idle kept connection: once more, anew

    def _get(self, path: str, headers: dict[str, str]) -> int:
        if self.connection is None:
            self.connection = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            self.connection.request("GET", path, headers=headers)
            response = self.connection.getresponse()
            response.read()
            if not self.keep_alive or response.will_close:
                self.close()
            return response.status
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def deep_page(path: str, key: str, pages: int) -> str:
    """The path of the `pages`-th page (following `next` in this process): a cursor deep into the list."""
    from django.test import Client

    client = Client(HTTP_HOST=HOST, HTTP_ACCEPT="application/json", HTTP_AUTHORIZATION=f"Token {key}")
    for _ in range(pages - 1):
        path = client.get(path).json()["next"].split(HOST, 1)[-1]
    return path


def scenarios(cast: Cast, keys: dict[str, str]) -> list[tuple[str, str, str | None]]:
    """(name, path, who) of each measured request; who is a key of tokens(), None for no credentials."""
    community = cast.community_ids[0]
    return [
        ("healthz (ceiling)", "/healthz", None),
        ("applications, foundation", "/api/v1/applications/", "programme_officer"),
        ("applications, street", "/api/v1/applications/", "street_reviewer"),
        ("applications, community", "/api/v1/applications/", "applicant"),
        ("applications, filtered", f"/api/v1/applications/?state=street_review&community={community}",
         "programme_officer"),
        ("applications, 40th page", deep_page("/api/v1/applications/", keys["programme_officer"], 40),
         "programme_officer"),
        ("tasks, foundation", "/api/v1/tasks/", "programme_officer"),
    ]


def visible_counts(cast: Cast) -> str:
    """How many applications each person of the scenarios may see."""
    from django.contrib.auth import get_user_model

    from grants.selectors import applications_visible_to

    first = cast.community_ids[0]
    return ", ".join(
        f"{role} {applications_visible_to(get_user_model().objects.get(pk=cast.user_id(role, first))).count():,}"
        for role in ("programme_officer", "street_reviewer", "applicant"))


def queries_per_request(requests: list[tuple[str, str, str | None]], keys: dict[str, str], *,
                        repeats: int = 100) -> list[list[Any]]:
    """Statements of one request of each kind, through Django's test client in this process (warm), and the
    median time and mean CPU time of this process (Python: framework, ORM, serializers) over `repeats` more."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rows = []
    for name, path, who in requests:
        client = Client(HTTP_HOST=HOST, HTTP_ACCEPT="application/json",
                        **({"HTTP_AUTHORIZATION": f"Token {keys[who]}"} if who else {}))
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path)
            seconds = time.perf_counter() - started
        queries = [q for q in captured.captured_queries
                   if q["sql"].split(" ", 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
        slowest = sorted(queries, key=lambda q: -float(q["time"]))[:2]
        walls, cpu = [], time.process_time()
        for _ in range(repeats):
            started = time.perf_counter()
            client.get(path)
            walls.append(time.perf_counter() - started)
        cpu = (time.process_time() - cpu) / repeats
        rows.append([name, response.status_code, len(queries), ms(seconds), ms(percentile(sorted(walls), 50)),
                     ms(cpu), ms(sum(float(q["time"]) for q in queries)),
                     ", ".join(f"{kind} x{n}" for kind, n in breakdown([q["sql"] for q in queries])),
                     ", ".join(f"{classify(q['sql'])} {float(q['time']) * 1000:.1f} ms" for q in slowest)])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--applications", "-n", type=int, default=100_000, help="applications (default 100000)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--requests", type=int, default=400,
                        help="at most this many requests per scenario (default 400; /healthz: 5x)")
    parser.add_argument("--duration", type=float, default=20.0, help="at most this many seconds per scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=1,
                        help="gunicorn threads per worker (default 1: sync workers; more: the gthread worker)")
    parser.add_argument("--keep-alive", action="store_true",
                        help="each client keeps its connection open (needs --threads > 1: sync workers close it)")
    parser.add_argument("--port", type=int, default=8124)
    parser.add_argument("--streets", type=int, default=5)
    parser.add_argument("--communities-per-street", type=int, default=4)
    parser.add_argument("--schema", choices=("auto", "migrate", "models"), default="auto")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    if args.keep_alive and args.threads < 2:
        parser.error("--keep-alive needs --threads 2 or more: gunicorn's sync workers close every connection")

    import warnings

    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no static files are served
    load_at_start = load_text()
    with scratch_database("bench_api", keep=args.keep_db, schema=args.schema) as scratch:
        run(args, scratch, load_at_start)


def run(args: argparse.Namespace, scratch: Any, load_at_start: str) -> None:
    from django.db import connections

    clock = time.perf_counter()
    cast = make_cast(streets=args.streets, communities_per_street=args.communities_per_street)
    counts = seed(cast, args.applications)
    keys = tokens(cast)
    setup_seconds = time.perf_counter() - clock
    print(f"  {args.applications:,} applications ready in {setup_seconds:.1f} s", file=sys.stderr)
    requests = scenarios(cast, keys)
    visible = visible_counts(cast)
    request_queries = queries_per_request(requests, keys)
    connections.close_all()

    results: list[Result] = []
    if args.threads > 1:  # the server of http_latency.py takes the worker count only; gunicorn reads the rest here
        os.environ["GUNICORN_CMD_ARGS"] = f"--worker-class gthread --threads {args.threads}"
    with server(scratch.name, args.port, args.workers) as how:
        for name, path, who in requests:
            def job(path: str = path, who: str | None = who) -> Callable[[], int]:
                client = Client(args.port, keep_alive=args.keep_alive)
                return lambda: client.get(path, keys[who] if who else None)

            budget = args.requests * (5 if who is None else 1)
            results.append(run_load(name, [repeat(job())], max_requests=30, duration=args.duration))
            results.append(run_load(name, [repeat(job()) for _ in range(args.clients)], max_requests=budget,
                                    duration=args.duration))
    if args.threads > 1:
        how = how.replace("(sync workers)", f"(gthread workers, {args.threads} threads each)")

    print()
    print(f"load at start: {load_at_start}")
    print("== bench/api_latency.py: /api/v1/ lists under concurrent clients, with a trivial view as the ceiling")
    for line in machine_lines(scratch.name):
        print(line)
    print(f"schema    : {scratch.schema}")
    mix = ", ".join(f"{state} {count:,}" for state, count in counts.items())
    print(f"N         : {args.applications:,} applications ({mix}) over {args.streets} streets x "
          f"{args.communities_per_street} communities, with budget lines and beneficiaries; built in "
          f"{setup_seconds:.1f} s; visible to: {visible}")
    print(f"server    : {how}; DJANGO_SETTINGS_MODULE=bench.settings, DEBUG=false, "
          f"DATABASE_URL={database_url(scratch.name)}, CONN_MAX_AGE=60")
    connections = "one kept-alive loopback connection each" if args.keep_alive else \
        "a new loopback connection per request"
    print(f"clients   : {args.clients} threads in this process (http.client, {connections}, "
          f"Authorization: Token), at most {args.requests} requests (healthz {args.requests * 5}) or "
          f"{args.duration:.0f} s per scenario; the 1-client rows show the service time without queueing")
    print(f"command   : {command_line()}")
    print()
    rows = []
    for r in results:
        values = sorted(r.latencies)
        p95 = percentile(values, 95)
        verdict = "" if r.clients == 1 or r.name.startswith("healthz") else (
            f"p95 < {TARGET_P95_MS:.0f} ms: {'met' if p95 * 1000 < TARGET_P95_MS else 'NOT met'}")
        statuses = ", ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items(), key=str))
        rows.append([r.name, r.clients, len(values), f"{len(values) / r.seconds:,.1f}" if r.seconds else "-",
                     ms(percentile(values, 50)), ms(p95), ms(percentile(values, 99)),
                     ms(values[-1]) if values else "-", statuses, verdict])
    print(table(["scenario", "clients", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses",
                 "aim (from the issue)"], rows))
    ceiling = next((r for r in results if r.name.startswith("healthz") and r.clients > 1), None)
    if ceiling and ceiling.seconds:
        rate = len(ceiling.latencies) / ceiling.seconds
        shares = ", ".join(f"{r.name} {len(r.latencies) / r.seconds / rate:.0%}" for r in results
                           if r.clients > 1 and r is not ceiling and r.seconds)
        print(f"\nceiling: {rate:,.1f} req/s for the trivial view at {ceiling.clients} clients; the lists reach "
              f"{shares} of it")
    print()
    print("Queries per request (one warm request each through Django's test client in this process, same "
          "database, before the server starts; `ms` and `DB ms` of that one request, `p50 ms` and `CPU ms` (this "
          "process's CPU time, i.e. Python, including the test client's own) over 100 more; BEGIN/COMMIT not "
          "counted):")
    print(table(["request", "status", "queries", "ms", "p50 ms", "CPU ms", "DB ms"],
                [row[:7] for row in request_queries]))
    for row in request_queries:
        print(textwrap.fill(f"{row[0]}: {row[7]}", width=110, subsequent_indent="    "))
        print(textwrap.fill(f"    slowest: {row[8]}", width=110, subsequent_indent="    "))
    print(f"\nload at end: {load_text()}")


if __name__ == "__main__":
    main()

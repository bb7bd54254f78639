"""What the benchmarks share: a scratch PostgreSQL database, the cast, bulk data, query counting, printing.

Nothing here imports Django models at module level: `scratch_database()` must set DATABASE_URL and the
settings module before `django.setup()` runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_HOST, PG_PORT, PG_USER = "127.0.0.1", "5432", "root"

# The server and the scripts run with production-like settings: DEBUG off (no query log kept in memory).
BENCH_ENV = {
    "SECRET_KEY": "bench",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    # Nothing is sent during a benchmark; an in-memory broker keeps the project's var/ folder untouched.
    "CELERY_BROKER_URL": "memory://",
    "LOG_LEVEL": "WARNING",
}


def database_url(name: str) -> str:
    return f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def _pg(command: str, name: str) -> None:
    subprocess.run([command, "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, name], check=True,
                   capture_output=True, text=True)


class _NoMigrations(dict):
    """MIGRATION_MODULES that disables every app's migrations, so that `migrate --run-syncdb` builds the models."""

    def __contains__(self, item: object) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


def _migrations_lag_models() -> bool:
    """Whether the models have changes that no migration describes yet (other work in progress)."""
    from django.apps import apps
    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.questioner import NonInteractiveMigrationQuestioner
    from django.db.migrations.state import ProjectState
    from django.utils import translation

    loader = MigrationLoader(None, ignore_no_migrations=True)
    # As `makemigrations` does: with translations on, every translated verbose name would look changed.
    with translation.override(None):
        changes = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps),
                                        NonInteractiveMigrationQuestioner(dry_run=True)).changes(graph=loader.graph)
    return bool(changes)


@dataclass
class Scratch:
    name: str
    schema: str  # how the tables were made, for the printed header


@contextlib.contextmanager
def scratch_database(prefix: str, *, keep: bool = False, schema: str = "auto") -> Iterator[Scratch]:
    """Create an empty database, point Django at it, build its tables, yield it, and drop it afterwards.

    1. `createdb` a database named after the script and this process id.
    2. Set DATABASE_URL, the bench settings module and the BENCH_ENV values, then `django.setup()`.
    3. `migrate` it; with schema "models" (or "auto" while the migrations lag the models because
       another change is in progress) build the tables straight from the models instead.
    4. On exit close every connection and `dropdb` it (unless `keep`).
    """
    name = f"{prefix}_{os.getpid()}"
    _pg("createdb", name)
    try:
        os.environ.update(BENCH_ENV)
        os.environ["DATABASE_URL"] = database_url(name)
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        if schema == "auto":
            schema = "models" if _migrations_lag_models() else "migrate"
        if schema == "models":
            settings.MIGRATION_MODULES = _NoMigrations()
            call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
            how = ("tables built from the current models (migrate --run-syncdb): "
                   "the migrations lag the models right now")
        else:
            call_command("migrate", verbosity=0, interactive=False)
            how = "migrated"
        yield Scratch(name, how)
    finally:
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        if keep:
            print(f"(kept the scratch database {name}; drop it with: dropdb -h {PG_HOST} -U {PG_USER} {name})")
        else:
            # --force: threads or a killed server may still hold a connection to it.
            subprocess.run(["dropdb", "--force", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, name], check=True,
                           capture_output=True, text=True)


def machine_lines(db_name: str) -> list[str]:
    """Cores, CPU, Python, PostgreSQL and database: the context every figure needs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW synchronous_commit")
        sync = cursor.fetchone()[0]
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    return [
        f"machine   : {os.cpu_count()} cores ({cpu or platform.processor() or 'unknown CPU'}), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"database  : PostgreSQL {server} at {PG_HOST}:{PG_PORT}, scratch database {db_name} "
        f"(synchronous_commit={sync}), same host as the benchmark",
        f"load      : {load_text()} (1/5/15-min load average now; other work on the machine skews figures)",
        f"code      : {code_version()}",
    ]


def code_version() -> str:
    """The commit measured, and whether the work tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line]
    return f"commit {commit}" + (f" + uncommitted changes in {len(dirty)} tracked files" if dirty else "")


def load_text() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def command_line() -> str:
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(ROOT)
    return " ".join([".venv/bin/python", shlex.quote(str(script)), *map(shlex.quote, sys.argv[1:])])


# --- Counting queries ------------------------------------------------------------------------------


class QueryCounter:
    """An `execute_wrapper` that counts statements (SAVEPOINTs included; BEGIN/COMMIT are not statements)."""

    def __init__(self, keep_sql: bool = False) -> None:
        self.count = 0
        self.keep_sql = keep_sql
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.keep_sql:
            self.sql.append(sql)
        return execute(sql, params, many, context)


@contextlib.contextmanager
def counting(keep_sql: bool = False) -> Iterator[QueryCounter]:
    from django.db import connection

    counter = QueryCounter(keep_sql)
    with connection.execute_wrapper(counter):
        yield counter


_TABLE = r'"?([a-z_0-9]+)"?'


def classify(sql: str) -> str:
    """`SELECT grants_membership`, `UPDATE viewflow_task`, `SAVEPOINT`, ...: a statement's kind and main table."""
    text = " ".join(sql.split())
    head = text.split(" ", 1)[0].upper()
    if head in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
        return "RELEASE SAVEPOINT" if head == "RELEASE" else head
    if re.fullmatch(r"SELECT \S+", text, flags=re.IGNORECASE):
        return "SELECT (no table)"
    patterns = {
        "SELECT": r"\bFROM " + _TABLE,
        "INSERT": r"^INSERT INTO " + _TABLE,
        "UPDATE": r"^UPDATE " + _TABLE,
        "DELETE": r"^DELETE FROM " + _TABLE,
    }
    match = re.search(patterns.get(head, r"$^"), text, flags=re.IGNORECASE)
    table = match.group(1) if match else "?"
    suffix = ""
    if head == "SELECT" and " FOR UPDATE" in text.upper():
        suffix = " FOR UPDATE"
    elif head == "SELECT" and re.match(r"SELECT \(?1\)? AS \"?a\"?", text, flags=re.IGNORECASE):
        suffix = " (exists)"
    elif head == "SELECT" and "COUNT(" in text.upper():
        suffix = " (count)"
    return f"{head} {table}{suffix}"


def breakdown(sqls: Sequence[str]) -> list[tuple[str, int]]:
    """Statements grouped by kind and table, most frequent first."""
    return Counter(classify(sql) for sql in sqls).most_common()


# --- Timing and printing ---------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (NaN for none)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table with right-aligned figures."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths,
                                                                                                 strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Stopwatch:
    started: float

    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


# --- The cast and bulk data -----------------------------------------------------------------------


@dataclass
class Cast:
    """One foundation and fund, streets with communities, and one user per role (ids only: forks share it)."""

    foundation_id: int
    fund_id: int
    category_id: int
    street_ids: list[int]
    community_ids: list[int]
    # role -> user id for the foundation's roles; per street / per community for the others.
    foundation_users: dict[str, int]
    street_users: dict[int, dict[str, int]]
    community_users: dict[int, dict[str, int]]
    street_of: dict[int, int]
    # Every street reviewer of each street (the first is also in street_users).
    reviewers: dict[int, list[int]] = field(default_factory=dict)

    def user_id(self, role: str, community_id: int) -> int:
        if role in self.foundation_users:
            return self.foundation_users[role]
        if role in ("street_reviewer", "street_leader"):
            return self.street_users[self.street_of[community_id]][role]
        return self.community_users[community_id][role]


def make_cast(*, streets: int = 1, communities_per_street: int = 2, reviewers_per_street: int = 1,
              password: str = "!", username_prefix: str = "") -> Cast:
    """The organisations and one user per role in each of them (password '!' = unusable, no hashing cost).

    Separation of duties holds by construction: every step of a sign-off chain is decided by a different
    person, and no reviewer works for an applying community.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from grants.models import Community, Foundation, Fund, Membership, ServiceCategory, StreetOffice

    user_model = get_user_model()
    hashed = make_password(password) if password != "!" else "!"
    foundation = Foundation.objects.create(name="贵州省红十字基金会", short_name="省红基会")
    fund_fields = {field.name for field in Fund._meta.get_fields()}
    fund = Fund.objects.create(foundation=foundation, name=f"{foundation.name}社区公益基金", code="bench",
                               board_threshold=Decimal("100000.00"), publicity_working_days=5,
                               # Documents are not what is measured: no files are written per application.
                               required_documents=[],
                               # One tranche, paid on signing: no mid-term review is owed.
                               **({"tranche_template": "100"} if "tranche_template" in fund_fields else {}))
    category = ServiceCategory.objects.create(fund=fund, code="elder_care", name="敬老", name_en="elder care")

    def user(username: str):
        return user_model.objects.create(username=f"{username_prefix}{username}", password=hashed, is_active=True)

    foundation_users = {}
    for role in ("programme_officer", "secretary_general", "board_member", "finance", "auditor"):
        person = user(role)
        Membership.objects.create(user=person, role=role, foundation=foundation)
        foundation_users[role] = person.pk
    street_ids, community_ids = [], []
    street_users: dict[int, dict[str, int]] = {}
    community_users: dict[int, dict[str, int]] = {}
    street_of: dict[int, int] = {}
    reviewers: dict[int, list[int]] = {}
    for s in range(streets):
        street = StreetOffice.objects.create(name=f"街道{s + 1}", district="观山湖区", city="贵阳市")
        street_ids.append(street.pk)
        street_users[street.pk] = {}
        for role in ("street_reviewer", "street_leader"):
            person = user(f"{role}_{s + 1}" if streets > 1 else role)
            Membership.objects.create(user=person, role=role, street_office=street)
            street_users[street.pk][role] = person.pk
        reviewers[street.pk] = [street_users[street.pk]["street_reviewer"]]
        for k in range(1, reviewers_per_street):
            person = user(f"street_reviewer_{s + 1}_{k + 1}")
            Membership.objects.create(user=person, role="street_reviewer", street_office=street)
            reviewers[street.pk].append(person.pk)
        for c in range(communities_per_street):
            community = Community.objects.create(street_office=street, name=f"社区{s + 1}-{c + 1}")
            community_ids.append(community.pk)
            street_of[community.pk] = street.pk
            community_users[community.pk] = {}
            for role in ("applicant", "community_head"):
                suffix = f"_{s + 1}_{c + 1}" if streets * communities_per_street > 1 else ""
                person = user(f"{role}{suffix}")
                Membership.objects.create(user=person, role=role, community=community)
                community_users[community.pk][role] = person.pk
    cast = Cast(foundation.pk, fund.pk, category.pk, street_ids, community_ids, foundation_users, street_users,
                community_users, street_of, reviewers)
    _endow(cast, fund)
    return cast


def _endow(cast: Cast, fund: object) -> None:
    """Give the fund more money than any run can commit (approval commits the grant against the balance)."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from grants import services

    if not hasattr(services, "donation_record"):  # a checkout without the money module
        return
    finance = get_user_model().objects.get(pk=cast.foundation_users["finance"])
    services.donation_record(actor=finance, fund=fund, amount=Decimal("900000000000.00"), donor_name="benchmark",
                             purpose="benchmark endowment", received_on=timezone.localdate(),
                             bank_reference="BENCH-ENDOWMENT")


def bulk_applications(cast: Cast, count: int, *, status: str = "draft", batch: int = 2000) -> list[int]:
    """`count` complete, submittable applications spread over the communities, created with bulk_create.

    Each has two budget lines adding up to its requested amount and one beneficiary group, so every
    submission rule passes; the project lasts 120 days (no mid-term review) and asks for 20,000 yuan
    (below the board threshold, so approval goes straight to publicity).
    """
    from grants.models import BeneficiaryGroup, BudgetLine, GrantApplication

    start = dt.date(2030, 3, 1)
    ids: list[int] = []
    for offset in range(0, count, batch):
        size = min(batch, count - offset)
        apps = []
        for n in range(offset, offset + size):
            community_id = cast.community_ids[n % len(cast.community_ids)]
            apps.append(GrantApplication(
                fund_id=cast.fund_id, community_id=community_id, category_id=cast.category_id,
                title=f"基准项目 {n + 1}", summary="benchmark application", start_date=start,
                end_date=start + dt.timedelta(days=120), requested_amount=Decimal("20000.00"),
                status=status, created_by_id=cast.user_id("applicant", community_id),
                # Past the community head, the street office and the foundation see it.
                confirmed_at=None if status in ("draft", "community_confirmation") else dt.datetime.now(dt.UTC)))
        GrantApplication.objects.bulk_create(apps)
        BudgetLine.objects.bulk_create([
            line for app in apps for line in (
                BudgetLine(application=app, category="services", description="社工服务", amount=Decimal("12000"),
                           position=0),
                BudgetLine(application=app, category="activities", description="活动", amount=Decimal("8000"),
                           position=1))])
        BeneficiaryGroup.objects.bulk_create([BeneficiaryGroup(application=app, kind="elderly", planned_count=50)
                                              for app in apps])
        ids.extend(app.pk for app in apps)
    return ids

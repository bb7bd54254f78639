#!/usr/bin/env python3.11
"""Set up `.venv` from requirements.lock, then run the demo or the test suite.

    python3.11 run.py demo               migrate, seed the demo data, run web server + Celery worker + beat
    python3.11 run.py test [pytest args] migration check, system check, then the whole test suite
    python3.11 run.py setup              only create/sync .venv and install the PDF font (used by .ci/run before ruff)

Standard library only: it runs before any dependency is installed.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_BIN = VENV / "bin"
VENV_PYTHON = VENV_BIN / "python"
LOCK = ROOT / "requirements.lock"
# Records the sha256 of the lock file the virtualenv was last synced to; delete it to force a re-sync.
STAMP = VENV / ".requirements.lock.sha256"
UV_VERSION = "0.13.9"

HOST, PORT = "127.0.0.1", 8000
URL = f"http://{HOST}:{PORT}/"
STOP_TIMEOUT = 15.0  # seconds the children get to finish their current work before they are killed

DEMO_USERS = [
    ("applicant", "applicant of 宇虹社区: drafts, submits, revises, reports"),
    ("applicant2", "applicant of 阅湖社区"),
    ("community_head", "community head (社区书记): confirms before submission"),
    ("street_reviewer", "street office reviewer (街道经办人)"),
    ("street_leader", "street office leader (街道分管领导): signs off"),
    ("programme_officer", "foundation programme officer: review, scoring, conditions"),
    ("secretary_general", "secretary-general (秘书长): approval"),
    ("board_member", "board (理事会): grants above the threshold"),
    ("finance", "finance (财务): donations, tranche payments"),
    ("auditor", "auditor: reads everything, changes nothing"),
    ("admin", "superuser: Django admin at /admin/"),
]


class Failure(Exception):
    """A step failed; the message says which and what to do."""


class Stop(Exception):
    """SIGTERM arrived; handled like Ctrl-C."""


def say(message: str) -> None:
    print(f"[run] {message}", flush=True)


def shout(message: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n[run] ERROR: {message}\n{bar}", file=sys.stderr, flush=True)


def describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def run_foreground(cmd: Sequence[str | Path], env: dict[str, str] | None = None) -> int:
    """Run a command attached to the terminal and return its exit code.

    Ctrl-C reaches the child from the terminal, so this process ignores it meanwhile and lets the child
    finish its own clean-up (pytest drops its test databases); SIGTERM is passed on to the child.
    """
    proc = subprocess.Popen([str(part) for part in cmd], cwd=ROOT, env=env)
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)


def check_step(what: str, cmd: Sequence[str | Path], *, env: dict[str, str] | None = None,
               hint: str = "") -> None:
    code = run_foreground(cmd, env)
    if code != 0:
        raise Failure(f"{what} failed ({describe_exit(code)}).{' ' + hint if hint else ''}")


# --- Set-up ---------------------------------------------------------------------------------------------


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def venv_python_version() -> str:
    result = subprocess.run(
        [str(VENV_PYTHON), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=False,
    )
    return result.stdout.strip() if result.returncode == 0 else "unusable"


def uv_version() -> str | None:
    uv = VENV_BIN / "uv"
    if not uv.exists():
        return None
    result = subprocess.run([str(uv), "--version"], capture_output=True, text=True, check=False)
    words = result.stdout.split()
    return words[1] if result.returncode == 0 and len(words) > 1 else None


def setup() -> None:
    """Make `.venv` match requirements.lock exactly.

    1. Create `.venv` with this Python 3.11 if it is missing.
    2. Stop here when the stamp says the lock file has not changed since the last sync.
    3. Install the pinned uv with pip, then `uv pip sync` the lock file (installs, upgrades and removes).
    4. Write the stamp.
    """
    if not LOCK.exists():
        raise Failure(f"{LOCK.name} is missing; see README.md (Development) for how to generate it.")
    rebuild_hint = "Delete .venv and run again."
    if not VENV_PYTHON.exists():
        say("creating virtualenv in .venv …")
        check_step("creating the virtualenv", [sys.executable, "-m", "venv", VENV],
                   hint="On Debian: apt-get install python3.11-venv.")
    version = venv_python_version()
    if version != "3.11":
        raise Failure(f".venv runs Python {version}, not 3.11. {rebuild_hint}")

    lock_hash = file_sha256(LOCK)
    if STAMP.exists() and STAMP.read_text().strip() == lock_hash:
        say(".venv is in sync with requirements.lock")
        return

    if uv_version() != UV_VERSION:
        say(f"installing uv=={UV_VERSION} into .venv …")
        check_step("installing uv", [VENV_PYTHON, "-m", "pip", "install", "--quiet",
                                     "--disable-pip-version-check", f"uv=={UV_VERSION}"], hint=rebuild_hint)
    count = len(re.findall(r"^[A-Za-z0-9][^\s]*==", LOCK.read_text(), flags=re.MULTILINE))
    say(f"installing {count} pinned packages from {LOCK.name} …")
    started = time.monotonic()
    check_step("uv pip sync", [VENV_BIN / "uv", "pip", "sync", "--python", VENV_PYTHON, "--require-hashes",
                               "--strict", LOCK], hint=rebuild_hint)
    STAMP.write_text(lock_hash + "\n")
    say(f".venv synced in {time.monotonic() - started:.1f} s")


# The CJK TrueType font of the printable documents (PDF): config/settings.py reads the same variable and
# default. reportlab embeds TrueType outlines only, so fonts-noto-cjk (CFF outlines) would not do.
PDF_FONT_DEFAULT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
PDF_FONT_PACKAGE = "fonts-wqy-microhei"
# apt-get's words when it has no package lists yet (a fresh container): then, and only then, update first.
APT_NO_LISTS = ("Unable to locate package", "has no installation candidate")


def apt_install(package: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Waits for another apt-get (a colleague's set-up) instead of failing on the dpkg lock.
    return subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300",
                           package], capture_output=True, text=True, env=env, check=False)


def ensure_pdf_font() -> None:
    """Make sure the CJK font of the PDF documents is installed; without it they are refused (503).

    1. Stop here when the font file exists (the usual case: one stat).
    2. As root with apt-get and the default path: install the package; `apt-get update` and retry only when
       apt-get has no package lists.
    3. Otherwise, or when that fails, say how to install it; the rest of the system works without it.
    """
    path = Path(os.environ.get("PDF_FONT_PATH") or PDF_FONT_DEFAULT)
    if path.is_file():
        return
    how = (f"install it with `apt-get install -y {PDF_FONT_PACKAGE}` (as root), or point PDF_FONT_PATH at a "
           "TrueType (.ttf/.ttc) font with Chinese glyphs")
    can_install = str(path) == PDF_FONT_DEFAULT and os.geteuid() == 0 and shutil.which("apt-get")
    if not can_install:
        shout(f"the CJK font for the PDF documents is missing ({path}): {how}. "
              "Until then the grant agreement and completion certificate cannot be printed.")
        return
    say(f"installing the CJK font for the PDF documents ({PDF_FONT_PACKAGE}) …")
    result = apt_install(PDF_FONT_PACKAGE)
    if result.returncode != 0 and any(words in result.stderr for words in APT_NO_LISTS):
        say("apt-get has no package lists; running apt-get update …")
        update = subprocess.run(["apt-get", "update", "-o", "DPkg::Lock::Timeout=300"], capture_output=True,
                                text=True, check=False)
        result = apt_install(PDF_FONT_PACKAGE) if update.returncode == 0 else update
    if result.returncode != 0 or not path.is_file():
        print(result.stdout[-2000:], result.stderr[-2000:], sep="\n", file=sys.stderr)
        shout(f"could not install {PDF_FONT_PACKAGE} ({path} is still missing): {how}. "
              "Until then the grant agreement and completion certificate cannot be printed.")
        return
    say(f"installed {path}")


def ensure_static_root() -> None:
    """Create the (empty) folder `collectstatic` fills, so that WhiteNoise has one to read before the first run."""
    # WhiteNoise warns "No directory at" whenever its middleware starts (each test client) if it is missing.
    # Same variable and default as config/settings.py, which creates nothing on import.
    (ROOT / (os.environ.get("STATIC_ROOT") or "var/static")).mkdir(parents=True, exist_ok=True)


def project_env() -> dict[str, str]:
    """The environment of every command: this process's, with `.venv` first on PATH."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(VENV)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONHOME", None)
    return env


def manage(*args: str) -> list[str | Path]:
    return [VENV_PYTHON, "manage.py", *args]


def redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


# --- Tests ----------------------------------------------------------------------------------------------

# Options the user may pass that choose or rule out xdist themselves.
SERIAL_OPTIONS = re.compile(r"^(-n|--numprocesses|--dist|--pdb|--trace|--co$|--collect-?only|no:xdist)")


def pytest_env_settings() -> dict[str, tuple[bool, str]]:
    """pytest-env's variables in pyproject.toml as {name: (only_if_unset, value)}."""
    import tomllib  # Python 3.11+; imported here so that older Pythons reach the version message

    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    values: dict[str, tuple[bool, str]] = {}
    for entry in options.get("env", []):
        key, _, value = entry.partition("=")
        *flags, name = key.split(":")
        values[name] = ("D" in flags, value)
    return values


def test(pytest_args: list[str]) -> int:
    env = project_env()
    for name, (default_only, value) in pytest_env_settings().items():
        if not default_only or name not in env:
            env[name] = value
    say(f"database: {redact(env.get('DATABASE_URL', '')) or 'SQLite (settings default)'}")
    say(f"broker: {redact(env.get('CELERY_BROKER_URL', '')) or 'filesystem:// (settings default)'}")

    say("checking that every model change has a migration …")
    check_step("manage.py makemigrations --check", manage("makemigrations", "--check", "--dry-run"), env=env,
               hint="Models changed without a migration: run `.venv/bin/python manage.py makemigrations`.")
    say("running Django's system checks …")
    check_step("manage.py check", manage("check"), env=env)

    cmd: list[str | Path] = [VENV_PYTHON, "-m", "pytest"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores > 1 and not any(SERIAL_OPTIONS.match(arg) for arg in pytest_args):
        cmd += ["-n", "auto", "--dist", "loadfile"]
    cmd += pytest_args
    say(f"running the test suite: {' '.join(str(part) for part in cmd[1:])}")
    code = run_foreground(cmd, env)
    if code == 5:
        shout("pytest collected no tests (exit 5). An empty run is a failure, not a pass.")
        return 1
    if code != 0:
        shout(f"the test suite failed ({describe_exit(code)}).")
    return code


# --- Demo -----------------------------------------------------------------------------------------------


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM if run.py itself dies (even by SIGKILL), so no worker lingers."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start(name: str, cmd: Sequence[str | Path], env: dict[str, str]) -> subprocess.Popen[bytes]:
    say(f"starting {name}: {' '.join(str(part) for part in cmd[1:])}")
    # Own session: Ctrl-C in the terminal reaches only run.py, which then stops the children in order.
    return subprocess.Popen([str(part) for part in cmd], cwd=ROOT, env=env, start_new_session=True,
                            preexec_fn=die_with_parent)


def stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every running child (web server first), wait, then kill whatever is left of their groups."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    running = [(name, proc) for name, proc in reversed(children.items()) if proc.poll() is None]
    for name, proc in running:
        say(f"stopping {name} …")
        proc.terminate()  # Celery: warm shutdown, the current task finishes
    if running:
        say(f"waiting up to {STOP_TIMEOUT:.0f} s (the worker's warm shutdown takes a few seconds) …")
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, proc in running:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
    for proc in children.values():
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers such as pool processes of a crashed worker
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


def health() -> str:
    try:
        with urllib.request.urlopen(f"{URL}healthz", timeout=1) as response:
            return response.read().decode()
    except urllib.error.HTTPError as error:  # 503: up, but the database or the broker does not answer
        return error.read().decode()


def announce(health_report: str) -> None:
    password = os.environ.get("DEMO_PASSWORD", "demo")
    line = "-" * 78
    print(f"\n{line}\n[run] community-grants demo: {URL}   (health: {health_report.strip()})", flush=True)
    print(f"[run] Sign in as one of these users, password {password!r}:")
    for username, role in DEMO_USERS:
        print(f"[run]   {username:<18} {role}")
    print(f"[run] Ctrl-C stops the web server, the Celery worker and beat.\n{line}\n", flush=True)


def demo() -> int:
    env = project_env()
    env.setdefault("DEBUG", "true")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as runserver does
        try:
            probe.bind((HOST, PORT))
        except OSError as error:
            raise Failure(f"{HOST}:{PORT} is in use ({error.strerror}); is another demo running?") from None
    say(f"database: {redact(env.get('DATABASE_URL', '')) or 'SQLite file db.sqlite3'}")
    say("applying migrations …")
    check_step("manage.py migrate", manage("migrate", "--noinput"), env=env)
    say("loading the demo data …")
    check_step("manage.py seed_demo", manage("seed_demo"), env=env)

    def on_sigterm(signum: int, frame: object) -> None:
        raise Stop

    signal.signal(signal.SIGTERM, on_sigterm)
    celery = [VENV_PYTHON, "-m", "celery", "-A", "config"]
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        worker = [*celery, "worker", "-l", "info", "--concurrency", "2"]
        children["Celery worker"] = start("Celery worker", worker, env)
        # Exactly one beat: a second one would send every periodic task twice.
        children["Celery beat"] = start("Celery beat", [*celery, "beat", "-l", "info"], env)
        children["web server"] = start("web server", manage("runserver", f"{HOST}:{PORT}", "--noreload"), env)
        announced = False
        while True:
            for name, proc in children.items():
                code = proc.poll()
                if code is not None:
                    shout(f"the {name} stopped unexpectedly ({describe_exit(code)}); stopping the demo.")
                    return 1
            if not announced:
                try:
                    announce(health())
                    announced = True
                except OSError:  # not listening yet
                    pass
            time.sleep(0.5)
    except (KeyboardInterrupt, Stop):
        print(flush=True)
        say("shutting down …")
        return 0
    finally:
        stop(children)
        say("all demo processes stopped")


def main(argv: list[str]) -> int:
    if sys.version_info[:2] != (3, 11):
        shout(f"Python 3.11 is required; this is {sys.version.split()[0]} ({sys.executable}). "
              "Run: python3.11 run.py demo|test")
        return 2
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "demo" and args:
        shout(f"`run.py demo` takes no arguments (got {' '.join(args)}).")
        return 2
    try:
        setup()
        ensure_pdf_font()
        ensure_static_root()
        if command == "setup":
            return 0
        return demo() if command == "demo" else test(args)
    except Failure as failure:
        shout(str(failure))
        return 1
    except KeyboardInterrupt:
        shout("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

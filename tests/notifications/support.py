"""Real local servers and brokers for the notification tests: SMTP (aiosmtpd), HTTP, Celery brokers, workers.

Nothing here mocks Django or the ORM: the channels talk to real sockets, tasks go through a real broker.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from notifications.channels import DeliveryError, Message

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_email(*people) -> None:
    """Give each person an address at example.org: email reaches only people who have one (the cast has none)."""
    for person in people:
        person.email = f"{person.username}@example.org"
        person.save(update_fields=["email"])


# --- A channel that counts ------------------------------------------------------------------------------


@dataclass
class CountingChannel:
    """A channel that records what it is asked to send; `fail_with` errors are raised first, one per call."""

    sent: list[Message] = field(default_factory=list)
    calls: int = 0
    fail_with: deque[DeliveryError] = field(default_factory=deque)

    def deliver(self, message: Message) -> None:
        self.calls += 1
        if self.fail_with:
            raise self.fail_with.popleft()
        self.sent.append(message)


# --- SMTP ----------------------------------------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])


class SmtpHandler:
    """aiosmtpd handler: keeps what it accepts; refuses listed recipients; can answer DATA with errors first."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refuse: set[str] = set()
        self.data_errors: deque[str] = deque()
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.data_errors:
                return self.data_errors.popleft()
            message = email.message_from_bytes(envelope.original_content or envelope.content,
                                               policy=email.policy.default)
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: SmtpHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd in its own thread), stopped afterwards."""
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


# --- HTTP ----------------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    delay: float = 0.0  # seconds the server waits before answering (a slow provider)


class HttpServer:
    """A real HTTP server on 127.0.0.1 that answers POSTs with the queued replies (then 200 errcode 0)."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                outer.requests.append((self.path, json.loads(self.rfile.read(length) or b"{}")))
                reply = outer.replies.popleft() if outer.replies else Reply()
                if reply.delay:
                    outer.stopping.wait(reply.delay)
                payload = json.dumps(reply.body).encode()
                with contextlib.suppress(OSError):  # the client may have given up already
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def url(self, path: str = "/") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> HttpServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


# --- Celery brokers -------------------------------------------------------------------------------------


def use_broker(url: str) -> None:
    """Point this process's Celery app at another broker (its connection pools are dropped, as after a fork)."""
    from config.celery import app

    # Celery reads CELERY_BROKER_URL from the environment before its configuration: the read and write URLs,
    # which it reads first, are set as well.
    app.conf.broker_url = app.conf.broker_read_url = app.conf.broker_write_url = url
    app.conf.broker_transport_options = {}
    app._pool = None
    with contextlib.suppress(AttributeError, KeyError):
        app.__dict__["amqp"]._producer_pool = None


def queued_tasks(queue: str = "celery") -> list[tuple[str, tuple[Any, ...]]]:
    """Take every message out of the broker's queue: (task name, args), oldest first."""
    from config.celery import app

    found = []
    with app.connection_for_read() as connection, connection.SimpleQueue(queue) as simple:
        while True:
            try:
                message = simple.get(block=False)
            except simple.Empty:
                return found
            args, _kwargs, _embed = message.decode()
            found.append((message.headers["task"], tuple(args)))
            message.ack()


def delivered_ids(queue: str = "celery") -> list[int]:
    """The delivery ids handed to `notifications.deliver`, taken out of the queue."""
    return [args[0] for name, args in queued_tasks(queue) if name == "notifications.deliver"]


# --- Celery worker processes ----------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start_worker(name: str, *, env: dict[str, str], log_dir: Path, backoff_seconds: float | None = None) -> Worker:
    """`celery -A config worker --pool solo -c 1 -Q celery` in its own process, with `env` on top of ours."""
    # With `backoff_seconds` the worker runs through tests/notifications/worker_main.py, which shortens
    # `notifications.services.backoff` to that constant, so that a retry comes within the test's patience.
    arguments = ["-A", "config", "worker", "--pool", "solo", "-c", "1", "-Q", "celery", "-n", f"{name}@%h",
                 "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO"]
    if backoff_seconds is None:
        command = [str(Path(sys.executable).with_name("celery")), *arguments]
    else:
        command = [sys.executable, str(Path(__file__).with_name("worker_main.py")), *arguments]
    full_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    if backoff_seconds is not None:
        full_env["TEST_BACKOFF_SECONDS"] = str(backoff_seconds)
    log = log_dir / f"{name}.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return Worker(name, process, log)


def stop_worker(worker: Worker, *, timeout: float = 15) -> None:
    """Warm shutdown (SIGTERM: finish the task at hand), then SIGKILL if it will not go."""
    if worker.process.poll() is not None:
        return
    worker.process.send_signal(signal.SIGTERM)
    try:
        worker.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.process.kill()
        worker.process.wait(timeout=5)


def wait_until(check: Callable[[], bool], *, timeout: float = 30, every: float = 0.2,
               workers: tuple[Worker, ...] = ()) -> bool:
    """Poll `check` until it holds or `timeout` seconds pass (waiting for real processes, not moving time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        for worker in workers:
            if worker.process.poll() is not None:
                raise AssertionError(f"worker {worker.name} exited with {worker.process.returncode}:\n"
                                     f"{worker.output()[-3000:]}")
        time.sleep(every)
    return check()

"""Fixtures of the browser tests: Debian's Chromium with a CJK font, driven by Playwright against `live_server`.

1. `chromium_ready` (session): /usr/bin/chromium and a Chinese font are there, or are installed with apt-get
   when running as root. If that cannot be done the tests skip, except with CI=true, where they fail.
2. `chromium` (module): Playwright's sync API launches that Chromium (never Playwright's own download).
   The sync API keeps an asyncio loop on the main thread, so Django's ORM would refuse to run beside it:
   DJANGO_ALLOW_ASYNC_UNSAFE is set while the browser lives and restored afterwards.
3. `page` (function): a fresh browser context in Chinese on the live server; its own cookies, no state kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
APT_PACKAGES = ("chromium", "fonts-wqy-microhei")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
APT_TIMEOUT = 900  # seconds for `apt-get update` and for `apt-get install` each
TIMEOUT_MS = 20_000  # for every wait of a page: generous, a slow CI machine must not flake


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _cannot_run(reason: str) -> None:
    """Skip on a developer's machine; in CI a browser test that cannot run is a failure, not a skip."""
    if _in_ci():
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"browser tests cannot run: {reason}")


def _has_cjk_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, timeout=60, check=False)
    return bool(found.stdout.strip())


def _missing() -> list[str]:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} is absent")
    if not _has_cjk_font():
        missing.append("no CJK font (`fc-list :lang=zh` finds nothing)")
    return missing


def _apt_install(say: Any) -> str | None:
    """Install Chromium and the font with apt-get; the reason it could not, or None."""
    if os.geteuid() != 0:
        return "not running as root, so apt-get cannot install them"
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *APT_PACKAGES]):
        say(f"[browser tests] running: {' '.join(cmd)} …")
        try:
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(cmd)}` did not finish within {APT_TIMEOUT} s"
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-1500:]
            return f"`{' '.join(cmd)}` failed with exit code {done.returncode}: {tail}"
    say("[browser tests] apt-get finished")
    return None


@pytest.fixture(scope="session")
def chromium_ready(request: pytest.FixtureRequest) -> Path:
    """Debian's Chromium and a CJK font (without one every Chinese character is a box in the screenshots)."""
    missing = _missing()
    if missing:
        capture = request.config.pluginmanager.getplugin("capturemanager")

        def say(message: str) -> None:
            with capture.global_and_fixture_disabled():
                print(message, flush=True)

        say(f"\n[browser tests] {'; '.join(missing)}: installing {' '.join(APT_PACKAGES)} with apt-get")
        problem = _apt_install(say)
        still_missing = _missing()
        if problem or still_missing:
            _cannot_run(f"{'; '.join(missing)}, and installing {' '.join(APT_PACKAGES)} did not fix it: "
                        f"{problem or '; '.join(still_missing)}. Install them: "
                        f"`apt-get install -y {' '.join(APT_PACKAGES)}`.")
    return CHROMIUM


@pytest.fixture(scope="module")
def chromium(chromium_ready: Path) -> Iterator[Any]:
    """Chromium launched by Playwright's sync API (headless), for the tests of one module."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _cannot_run(f"the Python package playwright is not installed ({exc}); it is in the `dev` extra: "
                    "`VIRTUAL_ENV=.venv .venv/bin/uv pip install playwright`")

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(executable_path=str(chromium_ready), args=LAUNCH_ARGS,
                                                 timeout=60_000)
        except PlaywrightError as exc:
            _cannot_run(f"{chromium_ready} did not start under Playwright: {exc}")
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A new page in its own context, in Chinese (Accept-Language zh-CN), with URLs relative to the live server."""
    context = chromium.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                   viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()

"""run.py's set-up step for the PDF font: nothing when present, apt-get as root, a clear message otherwise."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_run_py():
    spec = importlib.util.spec_from_file_location("run_script", ROOT / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run(monkeypatch, tmp_path):
    """run.py as a module, its default font path in a temporary folder, root with apt-get (faked)."""
    module = load_run_py()
    monkeypatch.setattr(module, "PDF_FONT_DEFAULT", str(tmp_path / "wqy-microhei.ttc"))
    monkeypatch.delenv("PDF_FONT_PATH", raising=False)
    monkeypatch.setattr(module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(module.shutil, "which", lambda name: f"/usr/bin/{name}")
    return module


class FakeApt:
    """Answers apt-get calls: without lists `install` cannot find the package; `update` brings them."""

    def __init__(self, font: Path, *, has_lists: bool) -> None:
        self.font, self.has_lists, self.calls = font, has_lists, []

    def __call__(self, cmd, **kwargs) -> subprocess.CompletedProcess[str]:
        self.calls.append(cmd[1])
        if cmd[1] == "update":
            self.has_lists = True
            return subprocess.CompletedProcess(cmd, 0, "", "")
        if not self.has_lists:
            return subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package fonts-wqy-microhei\n")
        assert cmd[-1] == "fonts-wqy-microhei" and "--no-install-recommends" in cmd
        self.font.write_bytes(b"font")
        return subprocess.CompletedProcess(cmd, 0, "Setting up fonts-wqy-microhei", "")


def test_present_font_costs_no_apt_call(run, monkeypatch):
    Path(run.PDF_FONT_DEFAULT).write_bytes(b"font")
    monkeypatch.setattr(run.subprocess, "run", lambda *a, **k: pytest.fail("apt-get must not run"))
    run.ensure_pdf_font()


def test_root_installs_the_package(run, monkeypatch, capsys):
    apt = FakeApt(Path(run.PDF_FONT_DEFAULT), has_lists=True)
    monkeypatch.setattr(run.subprocess, "run", apt)
    run.ensure_pdf_font()
    assert apt.calls == ["install"]
    assert Path(run.PDF_FONT_DEFAULT).is_file()
    assert "installed" in capsys.readouterr().out


def test_without_package_lists_updates_once_then_installs(run, monkeypatch):
    apt = FakeApt(Path(run.PDF_FONT_DEFAULT), has_lists=False)
    monkeypatch.setattr(run.subprocess, "run", apt)
    run.ensure_pdf_font()
    assert apt.calls == ["install", "update", "install"]
    assert Path(run.PDF_FONT_DEFAULT).is_file()


def test_other_install_failures_do_not_update_and_say_how(run, monkeypatch, capsys):
    def broken(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 100, "", "E: Could not get lock /var/lib/dpkg/lock-frontend\n")

    monkeypatch.setattr(run.subprocess, "run", broken)
    run.ensure_pdf_font()  # the rest of the set-up goes on
    err = capsys.readouterr().err
    assert "could not install fonts-wqy-microhei" in err
    assert "apt-get install -y fonts-wqy-microhei" in err


def test_not_root_is_told_how_to_install(run, monkeypatch, capsys):
    monkeypatch.setattr(run.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(run.subprocess, "run", lambda *a, **k: pytest.fail("apt-get must not run"))
    run.ensure_pdf_font()
    err = capsys.readouterr().err
    assert "the CJK font for the PDF documents is missing" in err
    assert "apt-get install -y fonts-wqy-microhei" in err and "PDF_FONT_PATH" in err


def test_a_configured_path_is_checked_not_installed(run, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PDF_FONT_PATH", str(tmp_path / "custom.ttf"))
    monkeypatch.setattr(run.subprocess, "run", lambda *a, **k: pytest.fail("apt-get must not run"))
    run.ensure_pdf_font()
    assert "custom.ttf" in capsys.readouterr().err


def test_settings_and_run_py_agree_on_the_default_path():
    module = load_run_py()
    line = next(line for line in (ROOT / "config" / "settings.py").read_text().splitlines()
                if line.startswith("PDF_FONT_PATH = "))
    assert f'"PDF_FONT_PATH", default="{module.PDF_FONT_DEFAULT}")' in line

"""The Simplified Chinese catalogue is complete, compiled, current, and what people actually see.

Chinese (zh-hans) is the default language and English the msgid language. The compiled .mo is shipped
because users' machines may have no GNU gettext; these tests read both files with polib, so they run
without gettext. Only the check that the catalogue holds every msgid of the code needs xgettext.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import polib
import pytest
from django.template import Context, Template
from django.utils import formats, translation

from grants.models import Role
from grants.states import ACTION_LABELS, State

ROOT = Path(__file__).resolve().parent.parent
PO_PATH = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO_PATH = PO_PATH.with_suffix(".mo")

# The same folders the README's makemessages command ignores (dot folders are ignored by Django itself).
IGNORED = [".venv", "bench", "tests", "var", "test-output"]
MAKEMESSAGES = ["makemessages", "-l", "zh_Hans", "--add-location=file", *(f"--ignore={name}" for name in IGNORED)]
FIX = ("run `python manage.py " + " ".join(MAKEMESSAGES) + "`, translate the new entries, then "
       "`python manage.py compilemessages -l zh_Hans --ignore=.venv` and commit both django.po and django.mo")

NAMED = re.compile(r"%\(\w+\)[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{\w*\}")
UNNAMED = re.compile(r"%[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _po() -> polib.POFile:
    return polib.pofile(str(PO_PATH))


def _key(entry: polib.POEntry | polib.MOEntry) -> tuple:
    plural = tuple(sorted(entry.msgstr_plural.items())) if entry.msgid_plural else ()
    return (entry.msgctxt, entry.msgid, entry.msgid_plural or None, entry.msgstr, plural)


def _msgstrs(entry: polib.POEntry) -> list[str]:
    return list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]


# --- (a) complete -----------------------------------------------------------------------------------------


def test_every_entry_is_translated_and_none_is_fuzzy():
    po = _po()
    assert len(po) > 0
    assert po.metadata.get("Plural-Forms", "").replace(" ", "") == "nplurals=1;plural=0;"
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy"
    untranslated = [entry.msgid for entry in po.untranslated_entries() if not entry.obsolete]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    empty_plurals = [entry.msgid for entry in po if entry.msgid_plural and not all(_msgstrs(entry))]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"
    assert not empty_plurals, f"empty plural forms: {empty_plurals}"
    assert all(len(entry.msgstr_plural) == 1 for entry in po if entry.msgid_plural), "Chinese has one plural form"


def test_placeholders_of_every_translation_match_the_msgid():
    problems = []
    for entry in _po():
        wanted = sorted(set(NAMED.findall(entry.msgid)) | set(NAMED.findall(entry.msgid_plural or "")))
        # Unnamed %s/%d only count where xgettext saw a format string ("100% on signing" is none).
        unnamed = "python-format" in entry.flags
        for text in _msgstrs(entry):
            if sorted(set(NAMED.findall(text))) != wanted:
                problems.append((entry.msgid, text))
            # An escaped "%%" is a literal percent sign, not a placeholder ("%% on" would look like "% o").
            elif unnamed and (len(UNNAMED.findall(text.replace("%%", "")))
                              != len(UNNAMED.findall(entry.msgid.replace("%%", "")))):
                problems.append((entry.msgid, text))
    assert not problems, f"placeholders differ: {problems}"


# --- (b) the shipped .mo is the compiled .po -----------------------------------------------------------------


def test_shipped_mo_matches_the_po(tmp_path):
    assert MO_PATH.exists(), f"{MO_PATH} is missing: {FIX}"
    compiled = tmp_path / "django.mo"
    _po().save_as_mofile(str(compiled))
    expected = {_key(entry) for entry in polib.mofile(str(compiled))}
    shipped = {_key(entry) for entry in polib.mofile(str(MO_PATH))}
    assert shipped == expected, (
        f"django.mo is stale ({len(expected - shipped)} entries missing or changed, {len(shipped - expected)} "
        f"extra): run `python manage.py compilemessages -l zh_Hans --ignore=.venv` and commit django.mo")


# --- (c) the catalogue holds every msgid of the code -----------------------------------------------------------


@pytest.mark.skipif(shutil.which("xgettext") is None or shutil.which("msgmerge") is None,
                    reason="GNU gettext (xgettext, msgmerge) is not installed, so the msgids of the code cannot be "
                           "extracted here; the check runs where gettext is installed (development, CI)")
def test_every_msgid_of_the_code_is_in_the_catalogue(tmp_path):
    # makemessages writes into the locale folder next to the sources, so it runs on a copy of them.
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        *IGNORED, ".*", "locale", "__pycache__", "*.pyc", "db.sqlite3*", "*.mo"))
    target = copy / "locale" / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(PO_PATH, target / "django.po")
    env = {**os.environ, "SECRET_KEY": os.environ.get("SECRET_KEY") or "tests-only-not-secret",
           "CELERY_DATA_DIR": str(tmp_path / "celery")}
    result = subprocess.run([sys.executable, "manage.py", *MAKEMESSAGES], cwd=copy, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

    def msgids(path: Path) -> set[tuple]:
        return {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(path)) if not entry.obsolete}

    new = sorted(msgids(target / "django.po") - msgids(PO_PATH), key=str)
    assert not new, f"{len(new)} msgid(s) of the code are not in the catalogue: {new}. To fix: {FIX}"


# --- (d) Chinese is what people see; (e) English when chosen -------------------------------------------------


def test_key_strings_are_chinese_in_zh_hans():
    with translation.override("zh-hans"):
        assert State.PUBLICITY.label == "公示中"
        assert State.REVISION_REQUESTED.label == "已退回修改"
        assert State.REJECTED.label == "已驳回"
        assert str(ACTION_LABELS["return_for_revision"]) == "退回修改"
        assert Role.COMMUNITY_HEAD.label == "社区书记"
        assert Role.STREET_REVIEWER.label == "街道经办人"
        assert translation.pgettext("button", "Filter") == "筛选"
        assert translation.ngettext("%(counter)s person", "%(counter)s people", 3) % {"counter": 3} == "3 人"
        assert (translation.gettext("Only a %(role)s of %(organisation)s may do this.")
                % {"role": Role.FINANCE.label, "organisation": "基金会"}) == "只有基金会的财务可以执行此操作。"


def test_key_strings_are_english_in_en():
    with translation.override("en"):
        assert State.PUBLICITY.label == "in publicity"
        assert State.REJECTED.label == "rejected"
        assert str(ACTION_LABELS["return_for_revision"]) == "return for revision"
        assert Role.COMMUNITY_HEAD.label == "community head"
        assert translation.pgettext("button", "Filter") == "Filter"
        assert translation.ngettext("%(counter)s person", "%(counter)s people", 3) % {"counter": 3} == "3 people"


@pytest.mark.django_db
def test_login_page_is_chinese_by_default(client):
    page = client.get("/accounts/login/").content.decode()
    assert "登录" in page
    assert "请使用基金会为您分配的账号登录。" in page  # the project's own string, not Django's
    assert "Sign in with the account" not in page


@pytest.mark.django_db
def test_login_page_is_english_when_asked(client):
    with translation.override("en"):
        page = client.get("/accounts/login/", headers={"accept-language": "en"}).content.decode()
    assert "Log in" in page
    assert "Sign in with the account the foundation gave you." in page
    assert "登录" not in page


# --- number and date formats (config/formats) ------------------------------------------------------------------


@pytest.mark.parametrize(("language", "short_date"), [("zh-hans", "2026年11月20日"), ("en", "11/20/2026")])
def test_amounts_group_thousands_and_dates_keep_djangos_formats(language, short_date):
    import datetime as dt

    template = Template('{% load humanize %}{{ amount|floatformat:"2g" }}|{{ count|intcomma }}|'
                        '{{ day|date:"SHORT_DATE_FORMAT" }}|{{ pk }}')
    with translation.override(language):
        text = template.render(Context({"amount": Decimal("1234567.5"), "count": 20000,
                                        "day": dt.date(2026, 11, 20), "pk": 12345}))
        assert formats.get_format("THOUSAND_SEPARATOR") == ","
        assert formats.get_format("NUMBER_GROUPING") == 3
    # Grouping only where asked: a bare number (an id in a URL) stays as it is.
    assert text == f"1,234,567.50|20,000|{short_date}|12345"

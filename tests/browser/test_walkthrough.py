"""The grant's main path in a real browser: each demo role logs in in turn and clicks through its own step.

`seed_demo` provides the demo users (password "demo") and a fund with money. The applicant drafts a new
application through the form (budget lines, a beneficiary group, the application form as a PDF) and submits
it; the community head confirms; the street reviewer approves; the street leader signs off; the programme
officer recommends with a score and an amount; the secretary-general approves (below the board threshold,
so the grant goes into publicity). The publicity ends on its viewflow timer: the clock travels past its end
(time_machine, in-process, so the live server's thread sees it too) and the due timers fire, as beat would.
Then the secretary-general signs the agreement and the project is in progress.

Every page visited is saved, numbered in order, as a full-page screenshot in test-output/browser/.
Assertions use element ids, names and CSS classes; visible labels are compared with their translation, so the
test holds with or without the Chinese catalogue compiled.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS
from viewflow.workflow.timers import fire_due_timers

from grants.demo import USERS, demo_pdf
from grants.models import GrantApplication, ServiceCategory, Tranche
from grants.states import ACTION_LABELS, State
from tests.helpers import audit_trail, local_noon

pytestmark = [pytest.mark.browser]

SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "browser"
PASSWORD = "demo"
TITLE = "宇虹社区高龄老人午间助餐与探访"
AMOUNT = Decimal("30000.00")  # below the fund's board threshold of 100,000: the secretary-general decides alone
NAMES = {user.username: f"{user.last_name}{user.first_name}" for user in USERS}  # as the header shows them


def either(text: Any) -> re.Pattern[str]:
    """The visible text of a translatable string: Chinese when the catalogue is compiled, English otherwise."""
    variants = set()
    for language in ("zh-hans", "en"):
        with translation.override(language):
            variants.add(str(text))
    return re.compile("|".join(re.escape(variant) for variant in sorted(variants, key=len, reverse=True)))


class Walk:
    """One browser tab walked through the site, with a numbered screenshot of each page it visits."""

    def __init__(self, page: Any, folder: Path) -> None:
        from playwright.sync_api import expect

        self.page = page
        self.folder = folder
        self.expect = expect
        self.count = 0

    # --- Pages and screenshots ---------------------------------------------------------------------------

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.wait_for_load_state("load")
        # From the top: a full-page screenshot taken while scrolled restores that scroll position late, on the
        # next mouse-down, so the next click's mouse-up would land on another element and do nothing.
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def go(self, url: str) -> None:
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.ok, (url, response and response.status)

    def click_to_next_page(self, locator: Any) -> None:
        """Click a link or a submit button and wait for the page it leads to (a POST, then its redirect)."""
        with self.page.expect_navigation(wait_until="load"):
            locator.click()

    def at(self, url_name: str, *args: Any) -> None:
        self.expect(self.page).to_have_url(re.compile(re.escape(reverse(url_name, args=args)) + "$"))

    def badge_says(self, state: State) -> None:
        badge = self.page.locator(".page-head .badge")
        self.expect(badge).to_have_class(re.compile(rf"\bstate-{state.value}\b"))
        self.expect(badge).to_have_text(either(state.label))

    def done(self, action: str) -> None:
        """The success message of an action ("Done: …")."""
        self.expect(self.page.locator(".alert-success").first).to_contain_text(either(ACTION_LABELS[action]))

    # --- People ----------------------------------------------------------------------------------------------

    def log_in(self, username: str) -> None:
        who = username.replace("_", "-")
        if "/accounts/login/" not in self.page.url:
            self.go(reverse("login"))
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.shot(f"{who}-login")
        self.click_to_next_page(self.page.locator("main form button[type=submit]"))
        self.expect(self.page.locator("header span.who")).to_have_text(NAMES[username])

    def log_out(self) -> None:
        self.click_to_next_page(self.page.locator(f"header form[action='{reverse('logout')}'] button"))
        self.at("login")
        self.expect(self.page.locator("#id_username")).to_be_empty()

    # --- A reviewer's step -----------------------------------------------------------------------------------

    def open_task(self, who: str) -> None:
        """From the inbox (a reviewer's home) open the application's task, taking it from the queue if needed."""
        self.at("workflows:inbox")
        self.shot(f"{who}-inbox")
        row = self.page.locator("table.data tbody tr", has_text=TITLE)
        if row.count() == 0:
            self.click_to_next_page(self.page.locator(f"nav.main a[href='{reverse('workflows:queue')}']"))
            self.at("workflows:queue")
            row = self.page.locator("table.data tbody tr", has_text=TITLE)
            self.expect(row).to_have_count(1)
            self.shot(f"{who}-queue")
            self.click_to_next_page(row.locator("form[action$='/claim/'] button[type=submit]"))
            self.expect(self.page.locator(".alert-success").first).to_be_visible()
        else:
            self.click_to_next_page(row.get_by_role("link", name=TITLE))
        self.expect(self.page).to_have_url(re.compile(r"/tasks/\d+/$"))
        self.expect(self.page.locator("h1")).to_have_text(TITLE)

    def decide(self, who: str, action: str, state: State, **inputs: str) -> None:
        """Fill in the step's decision form on the task page, send it, and land back in the inbox."""
        self.badge_says(state)
        form = self.page.locator(f"#actions form[action$='/actions/{action}/']")
        self.expect(form).to_be_visible()
        for name, value in inputs.items():
            form.locator(f"[name='{name}']").fill(value)
        self.shot(f"{who}-task-{action.replace('_', '-')}")
        self.click_to_next_page(form.locator("button[type=submit]"))
        self.at("workflows:inbox")
        self.done(action)
        self.expect(self.page.locator("table.data tbody tr", has_text=TITLE)).to_have_count(0)
        self.shot(f"{who}-done-{action.replace('_', '-')}")

    def review(self, username: str, action: str, state: State, **inputs: str) -> None:
        """A reviewer logs in, takes the task, decides it and logs out."""
        who = username.replace("_", "-")
        self.log_in(username)
        self.open_task(who)
        self.decide(who, action, state, **inputs)
        self.log_out()


@pytest.fixture
def demo(settings: Any) -> None:
    """The pilot's demo data: the demo users with the password "demo", the fund and its money."""
    settings.DEMO_PASSWORD = PASSWORD
    # Hashing is not what this test is about (the default hasher costs about 0.3 s per login and per user).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())  # its report is noise here


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    return SHOTS


def test_each_demo_role_walks_a_new_application_from_draft_to_signed_agreement(demo, page, shots, tmp_path):
    walk = Walk(page, shots)
    expect = walk.expect
    form_pdf = tmp_path / "项目申请书.pdf"
    form_pdf.write_bytes(demo_pdf("Application form: lunch and home visits for the oldest residents"))
    elder_care = ServiceCategory.objects.get(fund__code="gzrc-community", code="elder_care")
    start = dt.date.today() + dt.timedelta(days=30)

    # 1. The applicant of 宇虹社区 drafts the application through the form and submits it.
    walk.log_in("applicant")
    walk.at("my_applications")
    walk.shot("applicant-my-applications")
    walk.click_to_next_page(page.locator(f"main a[href='{reverse('application_create')}']"))
    walk.at("application_create")
    page.fill("#id_title", TITLE)
    page.select_option("#id_category", value=str(elder_care.pk))
    page.fill("#id_summary", "为80岁以上独居老人提供工作日午餐配送，每周上门探访一次。")
    page.fill("#id_start_date", start.isoformat())
    page.fill("#id_end_date", (start + dt.timedelta(days=120)).isoformat())
    page.fill("#id_requested_amount", str(AMOUNT))
    page.select_option("#id_budget-0-category", value="services")
    page.fill("#id_budget-0-description", "送餐与探访社工服务")
    page.fill("#id_budget-0-amount", "18000.00")
    page.select_option("#id_budget-1-category", value="materials")
    page.fill("#id_budget-1-description", "保温餐盒与配送耗材")
    page.fill("#id_budget-1-amount", "12000.00")
    page.select_option("#id_beneficiaries-0-kind", value="elderly")
    page.fill("#id_beneficiaries-0-planned_count", "60")
    page.select_option("#id_documents-0-kind", value="application_form")
    page.set_input_files("#id_documents-0-file", str(form_pdf))
    # The page's own script adds up the lines as they are typed.
    expect(page.locator("#budget-total")).not_to_have_class(re.compile(r"\bmismatch\b"))
    expect(page.locator("#budget-check")).to_have_text(page.locator("#budget-check").get_attribute("data-ok"))
    walk.shot("applicant-new-application")
    walk.click_to_next_page(page.locator("main form button[type=submit]"))
    expect(page).to_have_url(re.compile(r"/applications/\d+/$"))
    pk = int(re.search(r"/applications/(\d+)/$", page.url).group(1))
    expect(page.locator("h1")).to_have_text(TITLE)
    walk.badge_says(State.DRAFT)
    expect(page.locator("#documents")).to_contain_text(form_pdf.name)
    expect(page.locator("#actions .alert-warning")).to_have_count(0)  # nothing stands in the way of submitting
    walk.shot("applicant-draft-saved")
    walk.click_to_next_page(page.locator("#actions form[action$='/actions/submit/'] button[type=submit]"))
    walk.at("application_detail", pk)
    walk.done("submit")
    walk.badge_says(State.COMMUNITY_CONFIRMATION)
    walk.shot("applicant-submitted")
    walk.log_out()

    # 2. Community, street and foundation decide in turn, each from their inbox or queue.
    walk.review("community_head", "confirm", State.COMMUNITY_CONFIRMATION, comment="经社区两委会议研究，同意申报。")
    walk.review("street_reviewer", "street_approve", State.STREET_REVIEW, comment="材料齐全，预算合理。")
    walk.review("street_leader", "street_sign_off", State.STREET_SIGNOFF)
    walk.review("programme_officer", "foundation_recommend", State.FOUNDATION_REVIEW, score="88",
                recommended_amount=str(AMOUNT), conditions="按月报送助餐人数和探访记录。", comment="建议资助。")

    walk.log_in("secretary_general")
    walk.open_task("secretary-general")
    walk.decide("secretary-general", "approve", State.APPROVAL, comment="同意资助。")
    walk.go(reverse("application_detail", args=[pk]))
    walk.badge_says(State.PUBLICITY)
    application = GrantApplication.objects.get(pk=pk)
    assert application.status == State.PUBLICITY and application.approved_amount == AMOUNT
    assert application.publicity_ends_on is not None
    expect(page.locator("dl.facts").first).to_contain_text(f"{application.publicity_ends_on:%Y}")
    walk.shot("secretary-general-publicity")
    walk.log_out()

    # 3. The publicity waits on its viewflow timer: travel past its end and fire the due timers, as beat does.
    assert Task.objects.filter(process__grantprocess__application=application, status=STATUS.NEW,
                               flow_task_type="HUMAN").count() == 0
    with time_machine.travel(local_noon(application.publicity_ends_on + dt.timedelta(days=1)), tick=True):
        assert fire_due_timers() >= 1
        assert GrantApplication.objects.get(pk=pk).status == State.AGREEMENT

        # 4. The secretary-general signs the agreement; the project starts.
        walk.log_in("secretary_general")
        walk.open_task("secretary-general")
        walk.decide("secretary-general", "sign_agreement", State.AGREEMENT, comment="资助协议已签署。")
        walk.go(reverse("application_detail", args=[pk]))
        walk.badge_says(State.IN_PROGRESS)
        history = page.locator("#history")
        for action in ("submit", "confirm", "street_approve", "street_sign_off", "foundation_recommend", "approve",
                       "end_publicity", "sign_agreement"):
            expect(history).to_contain_text(either(ACTION_LABELS[action]))
        walk.shot("secretary-general-in-progress")
        walk.log_out()

        # 5. The applicant finds the project under way in their list.
        walk.log_in("applicant")
        walk.at("my_applications")
        row = page.locator("table.data tbody tr", has_text=TITLE)
        expect(row.locator(".badge")).to_have_class(re.compile(r"\bstate-in_progress\b"))
        expect(row.locator(".badge")).to_have_text(either(State.IN_PROGRESS.label))
        walk.shot("applicant-in-progress")
        walk.log_out()

    application = GrantApplication.objects.get(pk=pk)
    assert application.status == State.IN_PROGRESS
    assert application.agreement_signed_at is not None
    assert (application.approved_amount, application.score) == (AMOUNT, 88)
    assert application.conditions == "按月报送助餐人数和探访记录。"
    assert sum(line.amount for line in application.budget_lines.all()) == AMOUNT
    assert list(application.beneficiary_groups.values_list("kind", "planned_count")) == [("elderly", 60)]
    assert list(application.attachments.values_list("kind", "original_name")) == [("application_form", form_pdf.name)]
    assert application.tranches.filter(status=Tranche.Status.PAYABLE).exists()  # the first tranche, on signing
    assert [(action, actor) for action, _from, _to, actor in audit_trail(application)] == [
        ("submit", "applicant"), ("confirm", "community_head"), ("street_approve", "street_reviewer"),
        ("street_sign_off", "street_leader"), ("foundation_recommend", "programme_officer"),
        ("approve", "secretary_general"), ("end_publicity", None), ("sign_agreement", "secretary_general"),
    ]
    pictures = sorted(shots.glob("*.png"))
    assert len(pictures) == walk.count and all(picture.stat().st_size > 10_000 for picture in pictures)

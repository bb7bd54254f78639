"""The pictures in the docs are generated from the code and must not go stale."""

from __future__ import annotations

from pathlib import Path

from django.utils import translation

from grants import chart
from grants.states import FINAL_STATES, State

ROOT = Path(__file__).resolve().parent.parent


def test_readme_state_chart_is_generated_from_the_current_state_machine():
    with translation.override("en"):
        block = chart.mermaid_block()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert block in readme, "README's state chart is stale: run `python manage.py state_chart --write-readme`"


def test_docs_state_machine_page_is_current():
    with translation.override("en"):
        page = chart.state_machine_doc()
    assert (ROOT / "docs" / "state-machine.md").read_text(encoding="utf-8") == page, (
        "docs/state-machine.md is stale: run `python manage.py state_chart --write-docs`")


def test_chart_shows_every_state_and_ends_in_the_final_states():
    edges = chart.edges()
    used = {edge.source for edge in edges} | {edge.target for edge in edges}
    assert used == set(State.values)
    assert set(chart.final_states(edges)) == set(FINAL_STATES)

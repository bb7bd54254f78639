"""The application state machine as a picture, read from the FSM transitions in the code (Mermaid and DOT)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import translation
from django_fsm import ANY_OTHER_STATE, ANY_STATE, GET_STATE, RETURN_VALUE, FSMField, Transition

from .models import GrantApplication
from .permissions import CurrentStepDecider, MayAct
from .states import STEPS, State

README_START = "<!-- state-chart:start -->"
README_END = "<!-- state-chart:end -->"


@dataclass(frozen=True)
class Edge:
    """One arrow of the chart: every action that leads from `source` to `target`."""

    source: str
    target: str
    actions: tuple[str, ...]

    @property
    def label(self) -> str:
        return " / ".join(self.actions)


@dataclass(frozen=True)
class TransitionInfo:
    """One transition method as the code declares it, for the documentation table."""

    action: str
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    who: str
    conditions: tuple[str, ...]


def _field() -> FSMField:
    return GrantApplication._meta.get_field("status")


def _targets(target: object) -> tuple[str, ...]:
    # A computed target (resubmit goes back to the step that returned the application): every allowed state.
    if isinstance(target, RETURN_VALUE | GET_STATE):
        return tuple(str(state) for state in target.allowed_states)
    return (str(target),)


def _sources(source: object, targets: Iterable[str]) -> tuple[str, ...]:
    if source == ANY_STATE:
        return tuple(State.values)
    if source == ANY_OTHER_STATE:
        return tuple(state for state in State.values if state not in targets)
    return (str(source),)


def edges() -> list[Edge]:
    """Every (source, target) pair the transitions allow, with the actions leading there, in state order."""
    actions: dict[tuple[str, str], list[str]] = {}
    for transition in _field().get_all_transitions(GrantApplication):
        targets = _targets(transition.target)
        for source in _sources(transition.source, targets):
            for target in targets:
                names = actions.setdefault((source, target), [])
                if transition.name not in names:
                    names.append(transition.name)
    order = {state: n for n, state in enumerate(State.values)}
    return [Edge(source, target, tuple(sorted(names)))
            for (source, target), names in sorted(actions.items(), key=lambda item: (order[item[0][0]],
                                                                                     order[item[0][1]]))]


def initial_state() -> str:
    return str(_field().default)


def final_states(chart_edges: list[Edge]) -> list[str]:
    """States that transitions lead into but never out of."""
    sources = {edge.source for edge in chart_edges}
    reached = {edge.target for edge in chart_edges}
    return [state for state in State.values if state in reached and state not in sources]


def state_label(state: str) -> str:
    with translation.override("en"):
        return str(State(state).label)


def _used_states(chart_edges: list[Edge]) -> list[str]:
    used = {initial_state()} | {e.source for e in chart_edges} | {e.target for e in chart_edges}
    return [state for state in State.values if state in used]


def mermaid() -> str:
    """A Mermaid stateDiagram-v2 of the application's life."""
    chart_edges = edges()
    lines = ["stateDiagram-v2"]
    lines += [f'    state "{state_label(state)}" as {state}' for state in _used_states(chart_edges)]
    lines.append(f"    [*] --> {initial_state()}")
    lines += [f"    {edge.source} --> {edge.target}: {edge.label}" for edge in chart_edges]
    lines += [f"    {state} --> [*]" for state in final_states(chart_edges)]
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot() -> str:
    """A Graphviz DOT digraph of the application's life (render it with any Graphviz, e.g. `dot -Tsvg`)."""
    chart_edges = edges()
    finals = set(final_states(chart_edges))
    lines = ["digraph grant_application {", "    rankdir=TB;",
             '    node [shape=box, style=rounded, fontname="Helvetica"];',
             '    edge [fontname="Helvetica", fontsize=10];',
             "    __start__ [shape=point, label=\"\"];"]
    for state in _used_states(chart_edges):
        shape = ", shape=doubleoctagon" if state in finals else ""
        lines.append(f"    {state} [label={_dot_quote(state_label(state))}{shape}];")
    lines.append(f"    __start__ -> {initial_state()};")
    lines += [f"    {edge.source} -> {edge.target} [label={_dot_quote(edge.label)}];" for edge in chart_edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _who(permission: object) -> str:
    with translation.override("en"):
        if isinstance(permission, MayAct):
            return str(permission.role.label)
        if isinstance(permission, CurrentStepDecider):
            return "whoever decides at the current step"
        if permission is None:
            return "no permission check: the system or the public"
        return getattr(permission, "__name__", type(permission).__name__)


def _condition_name(condition: object) -> str:
    # A rules.Rule wraps the function that names what must hold (its `code` names the failure instead).
    return getattr(getattr(condition, "problem", condition), "__name__", repr(condition))


def transitions() -> list[TransitionInfo]:
    """Each transition method once, with all its sources and targets, who may take it and its conditions."""
    by_action: dict[str, list[Transition]] = {}
    for transition in _field().get_all_transitions(GrantApplication):
        by_action.setdefault(transition.name, []).append(transition)
    order = {state: n for n, state in enumerate(State.values)}
    result = []
    for action, found in by_action.items():
        targets = _targets(found[0].target)
        sources = {source for t in found for source in _sources(t.source, targets)}
        result.append(TransitionInfo(
            action=action,
            sources=tuple(sorted(sources, key=order.__getitem__)),
            targets=targets,
            who=_who(found[0].permission),
            conditions=tuple(_condition_name(c) for c in found[0].conditions)))
    return sorted(result, key=lambda info: (min(order[s] for s in info.sources), info.action))


def mermaid_block() -> str:
    return "```mermaid\n" + mermaid() + "```\n"


def replace_between_markers(text: str, block: str, *, start: str = README_START,
                            end: str = README_END) -> str:
    """`text` with whatever lies between the start and end marker lines replaced by `block`."""
    head, found_start, rest = text.partition(start)
    middle, found_end, tail = rest.partition(end)
    if not found_start or not found_end:
        missing = " and ".join(m for m, found in ((start, found_start), (end, found_end)) if not found)
        raise ValueError(f"marker {missing} not found")
    if end in middle or start in tail:
        raise ValueError("the state chart markers must appear exactly once, start before end")
    return f"{head}{start}\n{block}{end}{tail}"


def state_machine_doc() -> str:
    """docs/state-machine.md: the diagram, the states and who decides there, and the transitions."""
    chart_edges = edges()
    finals = set(final_states(chart_edges))
    with translation.override("en"):
        rows = []
        for state in _used_states(chart_edges):
            step = STEPS.get(state)
            if step is not None:
                who = str(step.role.label)
                if step.chain:
                    who += f" (sign-off chain “{step.chain}”)"
            elif state in finals:
                who = "— (final)"
            else:
                who = "— (no review step)"
            rows.append(f"| `{state}` | {state_label(state)} | {who} |")
        transition_rows = [
            f"| `{info.action}` | {', '.join(f'`{s}`' for s in info.sources)} | "
            f"{', '.join(f'`{t}`' for t in info.targets)} | {info.who} | "
            f"{', '.join(f'`{c}`' for c in info.conditions) or '—'} |"
            for info in transitions()]
    return "\n".join([
        "# The life of a grant application",
        "",
        "<!-- Generated by `manage.py state_chart --write-docs` from the FSM transitions of",
        "     grants/models/applications.py and the review steps of grants/states.py.",
        "     Do not edit by hand. -->",
        "",
        "Every change of state is one FSM transition, run by a service in `grants/services/` and recorded in",
        "the audit trail. The chart is drawn from the code, so it cannot drift from what the code allows.",
        "",
        mermaid_block(),
        "## States",
        "",
        "Who decides is the role from `grants.states.STEPS`; people may not sign two steps of the same",
        "sign-off chain of one application (separation of duties).",
        "",
        "| value | state | who decides there |",
        "|---|---|---|",
        *rows,
        "",
        "## Transitions",
        "",
        "| action | from | to | who may | conditions |",
        "|---|---|---|---|---|",
        *transition_rows,
        "",
    ])

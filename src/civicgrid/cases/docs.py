"""docs/workflow.md, generated from workflow.TRANSITIONS so the page can never disagree with the code."""

from __future__ import annotations

from collections import defaultdict

from django.utils import translation

from .models import State
from .workflow import PREVIOUS, SAME, TRANSITIONS, Action

HEADER = """# The case workflow

Generated from `civicgrid.cases.workflow.TRANSITIONS` by `manage.py workflow_doc`; do not edit by hand.
A test fails when this page and the table disagree.

Every action is allowed only to the roles listed, only inside the actor's jurisdiction (staff) or on
their own report (residents; anonymous reporters with their tracking token for feedback and reopen),
and appends one row to the case timeline in the same transaction as the state change. A refused action
changes nothing: wrong role → 403, another jurisdiction's case → 404, wrong state or a lost race → 409.
"""


def _target(rule_to: object) -> str:
    if rule_to == SAME:
        return "(unchanged)"
    if rule_to == PREVIOUS:
        return "(state before suspension)"
    return f"`{rule_to}`"


def render() -> str:
    with translation.override("en"):
        by_action: dict[Action, list[tuple[str, object, list[str], list[str]]]] = defaultdict(list)
        for (state, action), rule in TRANSITIONS.items():
            by_action[action].append(
                (state, rule.to, sorted(rule.roles), [g.__name__.strip("_") for g in rule.guards])
            )
        lines = [
            HEADER,
            "## Actions",
            "",
            "| action | from | to | roles | extra rules |",
            "|---|---|---|---|---|",
        ]
        for action in Action:
            rows = by_action.get(action)
            if not rows:
                continue
            states = ", ".join(f"`{r[0]}`" for r in rows)
            to = _target(rows[0][1])
            roles = ", ".join(rows[0][2])
            guards = ", ".join(rows[0][3]) or "—"
            lines.append(
                f"| `{action.value}` ({action.label}) | {states} | {to} | {roles} | {guards} |"
            )
        lines += ["", "## States", "", "| state | actions possible |", "|---|---|"]
        for state in State:
            actions = sorted(a.value for (s, a) in TRANSITIONS if s == state)
            lines.append(
                f"| `{state.value}` ({state.label}) | {', '.join(actions) or '— (final)'} |"
            )
        lines += [
            "",
            "```mermaid",
            "stateDiagram-v2",
            *sorted(
                {
                    f"    {s} --> {r.to}: {a.value}"
                    for (s, a), r in TRANSITIONS.items()
                    if r.to not in (SAME, PREVIOUS)
                }
            ),
            "```",
            "",
        ]
    return "\n".join(lines)

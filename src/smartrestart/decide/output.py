"""Output forms of a decision: names per line, the original's expansion note, JSON, explanation."""

from __future__ import annotations

from typing import Any

from smartrestart.decide.model import Reason
from smartrestart.decide.run import DecideOutcome
from smartrestart.rules.model import Action


def action_lines(outcome: DecideOutcome) -> str:
    """One action name per line, in order: exactly what the original printed."""
    return "".join(f"{name}\n" for name in outcome.decision.action_names)


def expansion_note(outcome: DecideOutcome) -> str:
    """The original's ``--show-expanded`` text, for stderr."""
    if not outcome.expanded:
        return ""
    lines = [f"INFO: import-chain expansion added {len(outcome.expanded)} file(s):"]
    lines.extend(f"  + {path}" for path in outcome.expanded)
    return "\n".join(lines) + "\n"


def unmatched_note(outcome: DecideOutcome) -> str:
    """The original's ``--show-unmatched`` text, for stderr."""
    unmatched = outcome.decision.unmatched
    if not unmatched:
        return ""
    lines = [f"INFO: {len(unmatched)} unmatched file(s):"]
    lines.extend(f"  - {path}" for path in unmatched)
    if outcome.decision.fallback_applied:
        lines.append("INFO: fallback policy applied")
    return "\n".join(lines) + "\n"


def action_json(action: Action) -> dict[str, Any]:
    return {
        "name": action.name,
        "order": action.order,
        "units": list(action.units),
        "mode": action.mode.value if action.units else None,
        "run": list(action.run) if action.run else None,
        "user": action.user,
        "description": action.description,
    }


def reason_json(reason: Reason) -> dict[str, Any]:
    return {
        "file": reason.file,
        "rule": (
            {"pattern": reason.rule.pattern, "source": str(reason.rule.location)}
            if reason.rule
            else None
        ),
        "fallback": reason.rule is None,
        "chain": list(reason.chain),
    }


def decision_json(outcome: DecideOutcome) -> dict[str, Any]:
    """The whole decision as plain data (``decide --json``, and part of ``apply --json``)."""
    decision = outcome.decision
    stats = outcome.graph_stats
    return {
        "actions": [
            {**action_json(d.action), "reasons": [reason_json(r) for r in d.reasons]}
            for d in decision.actions
        ],
        "changed": list(outcome.changed),
        "expanded": [{"file": f, "chain": list(c)} for f, c in outcome.expanded.items()],
        "unmatched": list(decision.unmatched),
        "fallback_applied": decision.fallback_applied,
        "warnings": list(outcome.warnings),
        "rules_files": [str(p) for p in outcome.rule_set.sources],
        "graph": (
            {
                "files": stats.files,
                "scanned": stats.scanned,
                "from_cache": stats.from_cache,
                "seconds": round(stats.seconds, 4),
            }
            if stats
            else None
        ),
    }


def explain(outcome: DecideOutcome) -> str:
    """The decision for a person: each action and every file and rule behind it."""
    decision = outcome.decision
    out: list[str] = []
    out.append(f"{len(outcome.changed)} changed file(s)")
    if outcome.expanded:
        out.append(f"{len(outcome.expanded)} more through imports (a <- b: b imports a):")
        out.extend(f"  {path}: {' <- '.join(chain)}" for path, chain in outcome.expanded.items())
    if not decision.actions:
        out.append("no actions needed")
    for decided in decision.actions:
        action = decided.action
        target = ""
        if action.units:
            target = f" ({action.mode.value} {', '.join(action.units)})"
        elif action.run:
            as_user = f" as {action.user}" if action.user else ""
            target = f" (run{as_user} {' '.join(action.run)})"
        out.append(f"{action.name} [order {action.order}]{target}")
        for reason in decided.reasons:
            why = (
                f"rule {reason.rule.pattern!r} at {reason.rule.location}"
                if reason.rule
                else "no rule matched: fallback"
            )
            via = f" (imports {' <- '.join(reason.chain)})" if reason.chain else ""
            out.append(f"  {reason.file}: {why}{via}")
    for path in decision.unmatched:
        if not decision.fallback_applied:
            out.append(f"unmatched, no fallback: {path}")
    out.extend(f"warning: {w}" for w in outcome.warnings)
    return "\n".join(out) + "\n"

"""Markdown for the read-only panels (plan, contracts, context): pure functions, tested directly."""

from __future__ import annotations

from collections.abc import Mapping

from app.panels.host import et_datetime
from core.options.contract_idea import ContractIdea
from core.options.ranker import RankedContract
from core.scanner.plan import Plan
from core.scanner.setups import Candidate


def _p(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def plan_markdown(plan: Plan, trigger: str = "") -> str:
    lines = [
        f"**{plan.direction.upper()}** · {plan.playbook} · {plan.interval} · {plan.style} · "
        f"issued {et_datetime(plan.created_at)} ET ({plan.session_phase})",
        "",
        "| level | price | R:R | P(touch) |",
        "|---|---|---|---|",
        f"| entry | {_p(plan.entry)} | | |",
        f"| stop | {_p(plan.stop)} | | |",
    ]
    for i, tp in enumerate(plan.targets):
        rr = plan.rr[i] if i < len(plan.rr) else None
        pt = plan.prob_touch[i] if i < len(plan.prob_touch) else None
        label = plan.target_labels[i] if i < len(plan.target_labels) and plan.target_labels[i] else ""
        lines.append(f"| TP{i + 1} {label} | {_p(tp)} | {_p(rr, 1)} | {'—' if pt is None else f'{pt:.0%}'} |")
    lines += [
        f"| invalidation | {_p(plan.invalidation)} | | |",
        "",
        f"**Confidence {plan.confidence:.0%}** — {plan.confidence_source}"
        + (f" (raw {plan.confidence_raw:.0%})" if plan.confidence_source == "calibrated" else
           " (no calibration for this playbook/interval: a heuristic score)"),
        "",
    ]
    if trigger:
        lines += [f"**Trigger:** {trigger}", ""]
    if plan.reasons:
        lines += ["**Reasons**", "", *(f"- {r}" for r in plan.reasons), ""]
    if plan.notes:
        lines += ["**Notes**", "", *(f"- {n}" for n in plan.notes), ""]
    lines.append(f"Invalidation: {plan.invalidation_note}  ·  expected move {_p(plan.expected_move)}")
    return "\n".join(lines)


def candidate_markdown(c: Candidate) -> str:
    if c.plan is not None:
        return plan_markdown(c.plan, c.trigger)
    lines = [f"**{c.state.value.upper()}** · {c.playbook} · {c.direction or 'no side yet'}", ""]
    if c.trigger:
        lines.append(f"**Trigger:** {c.trigger}")
    if c.missing:
        lines.append(f"**Missing:** {c.missing}")
    lines += ["", f"Confidence {c.confidence:.0%} ({c.confidence_kind}, {c.calibration})", ""]
    lines += [f"- {r}" for r in c.reasons]
    return "\n".join(lines)


def _contract_row(c: RankedContract) -> str:
    return (f"| {c.contract} | {c.expiry} | {c.strike:g} | {c.dte} | {c.delta:+.2f} | {c.mid:.2f} | "
            f"{c.spread_pct:.1f}% | {c.iv:.0%} | {c.open_interest:,.0f} | {c.score:.2f} |")


HEAD = ("| contract | expiry | strike | DTE | Δ | mid | spread | IV | OI | score |\n"
        "|---|---|---|---|---|---|---|---|---|---|")


def contracts_markdown(idea: ContractIdea, scenarios: Mapping[str, tuple[tuple[str, ...], tuple[float, ...]]],
                       prob_touch: Mapping[str, float]) -> str:
    r = idea.result
    out = [f"Source: {r.source}" + (" (modelled chain)" if r.modelled else "")
           + f" · ladder: {' → '.join(r.ladder)}", ""]
    for w in r.warnings:
        out.append(f"> ⚠ {w}")
    out += ["", f"**Best {len(r.best)}**", "", HEAD, *(_contract_row(c) for c in r.best), ""]
    if scenarios:
        labels = next(iter(scenarios.values()))[0]
        out += ["**Scenario P/L per contract** (full reprice, 30 min horizon)", "",
                "| contract | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for name, (_labels, pnl) in scenarios.items():
            out.append(f"| {name} | " + " | ".join(f"{x:+,.0f}" for x in pnl) + " |")
        out.append("")
    if prob_touch:
        out += ["**P(touch) per level:** " + ", ".join(f"{k} {v:.0%}" for k, v in prob_touch.items()), ""]
    if r.alternatives:
        out += [f"**Alternatives ({len(r.alternatives)})**", "", HEAD, *(_contract_row(c) for c in r.alternatives[:10]),
                ""]
    if r.rejections:
        counts: dict[str, int] = {}
        for rej in r.rejections:
            counts[str(rej.code)] = counts.get(str(rej.code), 0) + 1
        out += [f"**Rejected {len(r.rejections)}:** " + ", ".join(f"{k} × {v}" for k, v in sorted(counts.items())),
                ""]
        if not r.best:
            out += ["No contract passed every gate. The nearest misses:", ""]
        out += [f"- {rej.contract}: {rej.code} — {rej.detail}" for rej in r.rejections[:8]]
    return "\n".join(out)


def proxy_banner(idea: ContractIdea) -> str | None:
    if idea.proxy is None:
        return None
    return (f"Index mode: ranking {idea.chain_symbol} contracts for {idea.symbol} ({idea.reason}); levels "
            f"translated by the rolling beta {idea.proxy.beta:.3f} — {idea.proxy.banner}")


def context_markdown(mc: Mapping[str, object]) -> str:
    snaps = mc.get("snapshots") or []
    vol = mc.get("volatility_regime") or {}
    summary = mc.get("summary") or {}
    assert isinstance(snaps, list) and isinstance(vol, dict) and isinstance(summary, dict)
    out = ["**Trend stack**", "", "| interval | EMA stack | ADX | phase | price |", "|---|---|---|---|---|"]
    for s in snaps:
        snap = s["snapshot"]
        out.append(f"| {s['interval']} | {snap['trend']['ema_stack']} | {_p(snap['trend'].get('adx14'), 1)} | "
                   f"{snap['session']['phase']} | {_p(snap['price'])} |")

    def pct(x: object) -> str:
        return "—" if not isinstance(x, int | float) else f"{x:.0%}" if x <= 3 else f"{x:.0f}"

    out += ["", "**Volatility regime** — " + str(vol.get("regime_label", "—")), "",
            f"ATM IV {pct(vol.get('iv_atm'))} · IV rank {pct(vol.get('iv_rank'))} · "
            f"IV percentile {pct(vol.get('iv_percentile'))} ({vol.get('rank_source', '—')}) · "
            f"HV20 {pct(vol.get('hv_20'))} · HV60 {pct(vol.get('hv_60'))}", "",
            f"**Expected move** (to the horizon): {_p(summary.get('expected_move_horizon'))}  ·  "
            f"confluence {_p(summary.get('confluence_score'))}", "", "**Key levels**", ""]
    if snaps:
        levels = snaps[0].get("key_levels", {})
        price = snaps[0]["snapshot"]["price"]
        for k, v in sorted(levels.items(), key=lambda kv: -kv[1]):
            mark = " ◀ price" if abs(v - price) <= 0.001 * price else ""
            out.append(f"- {k}: {_p(v)}{mark}")
    return "\n".join(out)

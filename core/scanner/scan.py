"""Scan: run every playbook at the latest bar of each series and return validated plans."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.errors import InputError
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.scanner.features import Features, SeriesInput, build_features
from core.scanner.plan import Plan, PlanContext, Rejected, build_plan
from core.scanner.playbooks import BY_NAME, PLAYBOOKS, Playbook


@dataclass(frozen=True, slots=True)
class ScanResult:
    plans: tuple[Plan, ...]
    rejected: tuple[Rejected, ...]
    symbols: tuple[str, ...]


def select_playbooks(names: Sequence[str] | None) -> tuple[Playbook, ...]:
    if names is None:
        return PLAYBOOKS
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise InputError("playbooks", f"unknown {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    return tuple(BY_NAME[n] for n in names)


def detect_plans(f: Features, idx: np.ndarray, playbooks: Sequence[Playbook], ctx: PlanContext
                 ) -> tuple[list[Plan], list[Rejected]]:
    plans: list[Plan] = []
    rejected: list[Rejected] = []
    for pb in playbooks:
        sig = pb.detect(f, idx)
        for k in range(len(sig)):
            out = build_plan(f, sig, k, ctx, pb.spec.conditions, pb.spec.invalidation)
            (plans if isinstance(out, Plan) else rejected).append(out)  # type: ignore[arg-type]
    return plans, rejected


def scan(series: Sequence[SeriesInput] | Mapping[str, Bars], interval: Interval | str, *,
         style: str = "intraday", playbooks: Sequence[str] | None = None, ctx: PlanContext | None = None,
         ) -> ScanResult:
    """Plans that trigger on the last bar of each series, best confidence first."""
    items = [SeriesInput(k, v) for k, v in series.items()] if isinstance(series, Mapping) else list(series)
    items = [s for s in items if len(s.bars)]
    if not items:
        raise InputError("series", "no bars to scan")
    iv = parse_interval(interval)
    f = build_features(items, iv)
    idx = f.series_end - 1
    context = ctx or PlanContext.with_caches(style)
    plans, rejected = detect_plans(f, idx, select_playbooks(playbooks), context)
    plans.sort(key=lambda p: (-p.confidence, p.symbol, p.playbook))
    return ScanResult(tuple(plans), tuple(rejected), f.symbols)

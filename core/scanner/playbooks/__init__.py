"""The playbooks: each a declared spec and a causal, vectorised detector (see docs/scanner.md)."""

from __future__ import annotations

from core.scanner.playbooks.base import MIN_BARS, Playbook, PlaybookSpec, Signals
from core.scanner.playbooks.break_retest import BreakAndRetest
from core.scanner.playbooks.ema_pullback import EmaPullback
from core.scanner.playbooks.gap_fill import GapFillOpen
from core.scanner.playbooks.inside_bar import InsideBarBreakout
from core.scanner.playbooks.inside_day import InsideDayBreakout
from core.scanner.playbooks.liquidity_sweep import LiquiditySweep
from core.scanner.playbooks.midday_mean_revert import MiddayMeanRevert
from core.scanner.playbooks.momentum import MomentumContinuation
from core.scanner.playbooks.orb_retest import OrbRetest
from core.scanner.playbooks.power_hour import PowerHourTrend
from core.scanner.playbooks.vwap_avwap import VwapAvwapCluster

PLAYBOOKS: tuple[Playbook, ...] = (
    OrbRetest(), VwapAvwapCluster(), GapFillOpen(), MiddayMeanRevert(), PowerHourTrend(),
    EmaPullback(), InsideDayBreakout(), InsideBarBreakout(), BreakAndRetest(), LiquiditySweep(),
    MomentumContinuation(),
)
BY_NAME: dict[str, Playbook] = {p.name: p for p in PLAYBOOKS}

__all__ = ["BY_NAME", "MIN_BARS", "PLAYBOOKS", "Playbook", "PlaybookSpec", "Signals"]

"""Contracts controller: the option ranker for the selected plan — best 3 + alternatives, rejection
reasons, scenario P/L at stop/TP1/TP2, P(touch) per level, and the index-proxy banner."""

from __future__ import annotations

from app.panels.formatting import contracts_markdown, proxy_banner
from app.panels.host import PanelHost
from core.errors import TradeCoachError
from core.options.contract_idea import ContractIdea
from core.scanner.plan import Plan
from core.workstation import Workstation
from widgets.panels.text_panel import MarkdownPanel

Scenarios = dict[str, tuple[tuple[str, ...], tuple[float, ...]]]


async def rank_for_plan(k: Workstation, plan: Plan) -> tuple[ContractIdea, Scenarios]:
    """Runs on the kernel loop: rank, then price each best contract at the stop, TP1 and TP2."""
    idea = await k.options.rank(plan.symbol, plan.direction, plan.style,
                                plan_levels=(plan.entry, plan.stop, plan.targets))
    priced = await k.options.scenarios(idea, plan.direction, plan.entry, plan.stop, tuple(plan.targets)[:2])
    return idea, {c.contract: (res.labels, res.pnl_full) for c, res in priced}


class ContractsController:
    def __init__(self, host: PanelHost, panel: MarkdownPanel) -> None:
        self._host, self._panel = host, panel
        self.plan: Plan | None = None
        self.idea: ContractIdea | None = None
        panel.refresh_requested.connect(lambda: self.show_plan(self.plan) if self.plan else None)

    def show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self._panel.show_markdown(f"Contracts · {plan.symbol} {plan.direction}", "Ranking…")
        self._host._spawn(self._rank(plan), "contracts")

    async def _rank(self, plan: Plan) -> None:
        heading = f"Contracts · {plan.symbol} {plan.direction} · {plan.playbook}"
        try:
            idea, scenarios = await self._host.call(rank_for_plan(self._host.kernel, plan))
        except TradeCoachError as exc:
            if plan is self.plan:
                self._panel.show_error(heading, str(exc))
            return
        if plan is not self.plan:
            return  # another plan was picked meanwhile
        self.idea = idea
        touch = {f"TP{i + 1}": p for i, p in enumerate(plan.prob_touch)}
        self._panel.show_markdown(heading, contracts_markdown(idea, scenarios, touch), proxy_banner(idea))

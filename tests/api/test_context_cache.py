"""/gpt/context answers are shared: identical while fresh (CONTEXT_MAX_AGE_S), concurrent callers
share one computation, and a stale answer is recomputed on the bars of now."""

from __future__ import annotations

import asyncio

import pytest

import core.services.context as context_service
from tests.api.conftest import Api


async def test_context_is_shared_while_fresh_and_recomputed_when_stale(api: Api,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    k = api.kernel
    await k.market.replay_pause()
    monkeypatch.setattr(context_service, "CONTEXT_MAX_AGE_S", 3600.0)   # no expiry inside this part
    first = await k.context.context("SPY", "1m", 60, True)
    assert await k.context.context("SPY", "1m", 60, True) is first
    assert await k.context.context("SPY", "1m", 60, False) is not first     # another question
    concurrent = await asyncio.gather(*(k.context.context("SPY", "5m", 80, True) for _ in range(8)))
    assert all(c is concurrent[0] for c in concurrent)
    async with api.client() as c:
        r1 = await c.get("/gpt/context/SPY", params={"interval": "1m", "lookback": 60})
        r2 = await c.get("/gpt/context/SPY", params={"interval": "1m", "lookback": 60})
        assert r1.status_code == r2.status_code == 200 and r1.content == r2.content
        assert r1.headers["content-type"] == "application/json" and r1.json()["as_of"] == first["as_of"]
        await k.market.replay_step("SPY")                    # the replay moves on by one bar
        assert await k.context.context("SPY", "1m", 60, True) is first    # still fresh: shared
        monkeypatch.setattr(context_service, "CONTEXT_MAX_AGE_S", 0.0)
        after = await k.context.context("SPY", "1m", 60, True)
        assert after is not first and after["as_of"] > first["as_of"]
        r3 = await c.get("/gpt/context/SPY", params={"interval": "1m", "lookback": 60})
        assert r3.status_code == 200 and r3.json()["as_of"] == after["as_of"]

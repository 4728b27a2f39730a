"""Black-Scholes-Merton pricing, greeks, probabilities and implied volatility on numpy arrays.

Conventions (every function, every array broadcastable):
- ``spot`` S, ``strike`` K in price units; ``t`` in years (calendar time / 365);
  ``r`` continuously compounded rate; ``q`` continuous dividend yield; ``sigma`` as a decimal
  (0.25 = 25 vol points); ``is_call`` boolean (True = call, False = put).
- Greeks are per ONE share (multiply by the contract multiplier, 100, for a contract).
- ``vega`` is per 1.00 change of sigma (100 vol points); ``vega_per_point`` is per 1 vol point
  (0.01), which is what vendors quote and what scenario IV shifts use.
- ``theta_per_day`` is the change in value per calendar day (annual theta / 365).
- ``rho`` is per 1.00 change of r; ``rho_per_point`` per 1 percentage point.
These are European prices; US equity options are American, so for puts (and calls on dividend
payers) the model value is a lower bound and IVs solved from American quotes carry the early-
exercise premium.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from core.options.normal import norm_cdf, norm_pdf

ArrayLike = np.ndarray | float | int


def _arr(x: ArrayLike | np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _d1_d2(s: np.ndarray, k: np.ndarray, t: np.ndarray, r: np.ndarray, q: np.ndarray,
           sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vol_t = sigma * np.sqrt(t)
    d1 = (np.log(s / k) + (r - q + 0.5 * sigma * sigma) * t) / vol_t
    return d1, d1 - vol_t, vol_t


def bsm_price(spot: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, q: ArrayLike,
              sigma: ArrayLike, is_call: ArrayLike) -> np.ndarray:
    """Option value. At t == 0 (or sigma == 0) returns the discounted forward intrinsic value."""
    s, k, t_, r_, q_, v = (_arr(a) for a in (spot, strike, t, r, q, sigma))
    c = np.asarray(is_call, dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1, d2, _ = _d1_d2(s, k, t_, r_, q_, v)
        df_q = np.exp(-q_ * t_)
        df_r = np.exp(-r_ * t_)
        call = s * df_q * norm_cdf(d1) - k * df_r * norm_cdf(d2)
        put = k * df_r * norm_cdf(-d2) - s * df_q * norm_cdf(-d1)
        price = np.where(c, call, put)
        degenerate = (t_ <= 0) | (v <= 0)
        if np.any(degenerate):
            fwd_intr = np.where(c, s * df_q - k * df_r, k * df_r - s * df_q)
            price = np.where(degenerate, np.maximum(fwd_intr, 0.0), price)
    return price


@dataclass(frozen=True, slots=True)
class Greeks:
    """All BSM outputs for a set of contracts (per share; see the module docstring for units)."""

    price: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    vega: np.ndarray            # per 1.00 of sigma
    theta_per_day: np.ndarray   # per calendar day (annual / 365)
    rho: np.ndarray             # per 1.00 of r
    prob_itm: np.ndarray        # risk-neutral P(S_T beyond strike)

    @property
    def vega_per_point(self) -> np.ndarray:
        """Value change for a 1 vol point (0.01) move in sigma."""
        return self.vega * 0.01

    @property
    def theta_per_year(self) -> np.ndarray:
        return self.theta_per_day * 365.0

    @property
    def rho_per_point(self) -> np.ndarray:
        """Value change for a 1 percentage point (0.01) move in r."""
        return self.rho * 0.01


def greeks(spot: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, q: ArrayLike,
           sigma: ArrayLike, is_call: ArrayLike) -> Greeks:
    """Price and every greek in one pass (shared d1/d2, one CDF per leg). NaN where t<=0 or sigma<=0."""
    s, k, t_, r_, q_, v = np.broadcast_arrays(*(_arr(a) for a in (spot, strike, t, r, q, sigma)))
    c = np.broadcast_to(np.asarray(is_call, dtype=bool), s.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1, d2, vol_t = _d1_d2(s, k, t_, r_, q_, v)
        sign = np.where(c, 1.0, -1.0)
        nd1 = norm_cdf(sign * d1)   # N(d1) for calls, N(-d1) for puts
        nd2 = norm_cdf(sign * d2)
        pdf1 = norm_pdf(d1)
        df_q = np.exp(-q_ * t_)
        df_r = np.exp(-r_ * t_)
        s_dq = s * df_q
        k_dr = k * df_r
        price = sign * (s_dq * nd1 - k_dr * nd2)
        delta = sign * df_q * nd1
        gamma = df_q * pdf1 / (s * vol_t)
        vega = s_dq * pdf1 * np.sqrt(t_)
        theta_year = (-s_dq * pdf1 * v / (2.0 * np.sqrt(t_))
                      + sign * (q_ * s_dq * nd1 - r_ * k_dr * nd2))
        rho = sign * k_dr * t_ * nd2
        bad = (t_ <= 0) | (v <= 0) | (s <= 0) | (k <= 0)
        if np.any(bad):
            nan = np.nan
            price, delta, gamma, vega, theta_year, rho, nd2 = (
                np.where(bad, nan, a) for a in (price, delta, gamma, vega, theta_year, rho, nd2))
    return Greeks(price=price, delta=delta, gamma=gamma, vega=vega, theta_per_day=theta_year / 365.0,
                  rho=rho, prob_itm=nd2)


def prob_itm(spot: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike, q: ArrayLike,
             sigma: ArrayLike, is_call: ArrayLike) -> np.ndarray:
    """Risk-neutral probability of finishing in the money: N(d2) for calls, N(-d2) for puts."""
    s, k, t_, r_, q_, v = (_arr(a) for a in (spot, strike, t, r, q, sigma))
    with np.errstate(divide="ignore", invalid="ignore"):
        _, d2, _ = _d1_d2(s, k, t_, r_, q_, v)
    return norm_cdf(np.where(np.asarray(is_call, dtype=bool), d2, -d2))


def prob_touch(spot: ArrayLike, barrier: ArrayLike, t: ArrayLike, sigma: ArrayLike,
               drift: ArrayLike = 0.0) -> np.ndarray:
    """Probability that the price touches ``barrier`` at any time before ``t`` (years).

    Reflection principle for geometric Brownian motion with continuous monitoring: log price
    X_t = (drift - sigma^2/2) t + sigma W_t. For an up-barrier b = ln(H/S) > 0:
    P = N((-b + m t)/(sigma sqrt t)) + exp(2 m b / sigma^2) N((-b - m t)/(sigma sqrt t)), m the
    log drift; the down case mirrors it. ``drift`` = r - q gives the risk-neutral touch; 0 the
    driftless one (then touch ~ 2 x prob ITM). A barrier at or beyond spot already touched -> 1.
    """
    s, h, t_, v, mu = (_arr(a) for a in (spot, barrier, t, sigma, drift))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = np.log(h / s)
        m = mu - 0.5 * v * v
        vol_t = v * np.sqrt(t_)
        up = b > 0
        # Mirror the down case onto the up case: X -> -X flips the sign of m.
        bb = np.abs(b)
        mm = np.where(up, m, -m)
        p = norm_cdf((-bb + mm * t_) / vol_t) + np.exp(2.0 * mm * bb / (v * v)) * norm_cdf(
            (-bb - mm * t_) / vol_t)
        p = np.clip(p, 0.0, 1.0)
        p = np.where(b == 0, 1.0, p)
        p = np.where((t_ <= 0) & (b != 0), 0.0, p)
    return p


# ---------------------------------------------------------------------------------------------
# Implied volatility
# ---------------------------------------------------------------------------------------------
class IVReason(IntEnum):
    """Why an implied volatility is (or is not) defined for a contract."""

    OK = 0
    NO_QUOTE = 1            # price missing / NaN / non-positive
    BELOW_INTRINSIC = 2     # price under the (forward, discounted) intrinsic value
    ABOVE_UPPER_BOUND = 3   # call above S e^-qT, put above K e^-rT
    VEGA_TOO_SMALL = 4      # price so close to a bound that sigma is not identifiable
    NOT_CONVERGED = 5       # solver ran out of iterations (should not happen; reported, not hidden)
    BAD_INPUT = 6           # non-positive spot/strike or expired contract


@dataclass(frozen=True, slots=True)
class IVResult:
    iv: np.ndarray          # decimal sigma, NaN where not defined
    reason: np.ndarray      # int8 IVReason codes

    def reason_names(self) -> list[str]:
        return [IVReason(int(c)).name for c in self.reason]


_SIGMA_LO = 1e-6
_SIGMA_HI = 20.0
# Relative vega floor: below it a rounding of the price by 1e-12 moves sigma by > 1e-4.
_VEGA_FLOOR_REL = 1e-8


def implied_vol(price: ArrayLike, spot: ArrayLike, strike: ArrayLike, t: ArrayLike, r: ArrayLike,
                q: ArrayLike, is_call: ArrayLike, *, tol: float = 1e-13, max_iter: int = 100
                ) -> IVResult:
    """Vectorised implied volatility: safeguarded Newton with a bisection bracket.

    The quote is first mapped to the out-of-the-money side by put-call parity (ITM prices carry
    little volatility information), then Newton steps on sigma are taken while a [lo, hi]
    bracket that always contains the root is tightened; a step leaving the bracket is replaced
    by a bisection. The initial guess is the Brenner-Subrahmanyam/Corrado-Miller estimate,
    clipped. Converges for every contract whose vega is not negligible; otherwise NaN + reason.
    """
    p, s, k, t_, r_, q_ = np.broadcast_arrays(*(_arr(a) for a in (price, spot, strike, t, r, q)))
    c = np.broadcast_to(np.asarray(is_call, dtype=bool), p.shape).copy()
    n = p.size
    shape = p.shape
    p, s, k, t_, r_, q_, c = (a.reshape(n) for a in (p, s, k, t_, r_, q_, c))
    iv = np.full(n, np.nan)
    reason = np.full(n, IVReason.OK, dtype=np.int8)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bad = ~((s > 0) & (k > 0) & (t_ > 0) & np.isfinite(s) & np.isfinite(k) & np.isfinite(t_))
        reason[bad] = IVReason.BAD_INPUT
        noq = ~bad & ~(np.isfinite(p) & (p > 0))
        reason[noq] = IVReason.NO_QUOTE
        df_q = np.exp(-q_ * t_)
        df_r = np.exp(-r_ * t_)
        s_dq = s * df_q
        k_dr = k * df_r
        intrinsic = np.maximum(np.where(c, s_dq - k_dr, k_dr - s_dq), 0.0)
        upper = np.where(c, s_dq, k_dr)
        scale = np.maximum(s_dq, k_dr)
        live = reason == IVReason.OK
        below = live & (p < intrinsic - 1e-12 * scale)
        reason[below] = IVReason.BELOW_INTRINSIC
        above = live & (p >= upper)
        reason[above] = IVReason.ABOVE_UPPER_BOUND
        live = reason == IVReason.OK
        # Out-of-the-money equivalent: the call if K >= forward, else the put (put-call parity).
        otm_call = k_dr >= s_dq
        otm_price = p - np.where(c == otm_call, 0.0, np.where(c, s_dq - k_dr, k_dr - s_dq))
        flat = live & (otm_price <= 1e-12 * scale)
        reason[flat] = IVReason.VEGA_TOO_SMALL
        live = reason == IVReason.OK

    idx = np.flatnonzero(live)
    if idx.size:
        sol, ok = _solve(otm_price[idx], s[idx], k[idx], t_[idx], r_[idx], q_[idx], otm_call[idx],
                         tol, max_iter)
        vega_at = greeks(s[idx], k[idx], t_[idx], r_[idx], q_[idx], sol, otm_call[idx]).vega
        tiny = ok & ~(vega_at >= _VEGA_FLOOR_REL * scale[idx])
        iv[idx] = np.where(ok & ~tiny, sol, np.nan)
        reason[idx[~ok]] = IVReason.NOT_CONVERGED
        reason[idx[tiny]] = IVReason.VEGA_TOO_SMALL
    return IVResult(iv=iv.reshape(shape), reason=reason.reshape(shape))


def _solve(target: np.ndarray, s: np.ndarray, k: np.ndarray, t: np.ndarray, r: np.ndarray,
           q: np.ndarray, is_call: np.ndarray, tol: float, max_iter: int
           ) -> tuple[np.ndarray, np.ndarray]:
    """Newton/bisection on the active subset; returns (sigma, converged)."""
    n = target.size
    sqrt_t = np.sqrt(t)
    fwd_s = s * np.exp(-q * t)
    disc_k = k * np.exp(-r * t)
    # Corrado-Miller guess (falls back to Brenner-Subrahmanyam when the root is negative).
    half_gap = 0.5 * (fwd_s - disc_k)
    x = target + np.where(is_call, 0.0, -half_gap * 2.0)  # as call price via parity
    with np.errstate(invalid="ignore", divide="ignore"):
        a = x - half_gap
        disc = np.maximum(a * a - (fwd_s - disc_k) ** 2 / np.pi, 0.0)
        guess = np.sqrt(2.0 * np.pi) / (sqrt_t * (fwd_s + disc_k)) * (a + np.sqrt(disc))
    guess = np.where(np.isfinite(guess) & (guess > 0.01), guess, 0.3)
    sigma = np.clip(guess, 0.01, 5.0)
    lo = np.full(n, _SIGMA_LO)
    hi = np.full(n, _SIGMA_HI)
    done = np.zeros(n, dtype=bool)
    act = np.arange(n)
    for _ in range(max_iter):
        sg = sigma[act]
        g = greeks(s[act], k[act], t[act], r[act], q[act], sg, is_call[act])
        diff = g.price - target[act]
        # Tighten the bracket: value is increasing in sigma.
        hi_a = np.where(diff > 0, sg, hi[act])
        lo_a = np.where(diff <= 0, sg, lo[act])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = diff / g.vega
        new = sg - step
        # Strict: a zero step lands on the bracket edge it just set, and that is convergence.
        outside = ~np.isfinite(new) | (new < lo_a) | (new > hi_a)
        conv = ~outside & (np.abs(step) <= tol * np.maximum(sg, 1e-3))
        conv |= diff == 0
        new = np.where(outside, 0.5 * (lo_a + hi_a), new)
        sigma[act] = new
        lo[act] = lo_a
        hi[act] = hi_a
        done[act[conv]] = True
        act = act[~conv]
        if act.size == 0:
            break
    # A root pinned at the bracket edge means the quote is outside the attainable range.
    ok = done & (sigma > 1.5 * _SIGMA_LO) & (sigma < _SIGMA_HI * 0.999)
    return sigma, ok


def implied_vol_quotes(bid: ArrayLike, ask: ArrayLike, spot: ArrayLike, strike: ArrayLike,
                       t: ArrayLike, r: ArrayLike, q: ArrayLike, is_call: ArrayLike
                       ) -> tuple[IVResult, IVResult, IVResult]:
    """IV from the bid, the mid and the ask (mid only where both sides are quoted, bid > 0)."""
    b = _arr(bid)
    a = _arr(ask)
    both = np.isfinite(b) & np.isfinite(a) & (b > 0) & (a >= b)
    mid = np.where(both, 0.5 * (b + a), np.nan)
    return (implied_vol(b, spot, strike, t, r, q, is_call),
            implied_vol(mid, spot, strike, t, r, q, is_call),
            implied_vol(a, spot, strike, t, r, q, is_call))

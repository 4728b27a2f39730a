"""TradingView chart capture in headless Chromium (Debian's chromium + chromedriver; Selenium
Manager is never used, so nothing is downloaded), with optional sign-in.

    with TradingViewBrowser(TradingViewConfig.from_env()) as tv:
        tv.login()                               # only when credentials are set; raises LoginFailed
        png = tv.chart_png("MNQ1!", "15m")

Sign-in follows TradingView's flow: the sign-in page offers providers, "Email" opens the
username/password form, then either the signed-in page, an error message, or a CAPTCHA wall
appears. Each outcome is told apart and a failure raises `LoginFailed` with the reason (never a
silent anonymous capture). The base URL is configurable (TRADINGVIEW_BASE_URL) so tests drive the
same code against local pages.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from core.errors import InputError, TradeCoachError
from core.market.intervals import parse_interval

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.tradingview.com"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
USERNAME_KEY = "TRADINGVIEW_USERNAME"
PASSWORD_KEY = "TRADINGVIEW_PASSWORD"

# TradingView's exchange prefixes for the continuous futures the collector follows.
_TV_PREFIX = {"MNQ": "CME_MINI", "MES": "CME_MINI", "NQ": "CME_MINI", "ES": "CME_MINI", "RTY": "CME_MINI",
              "M2K": "CME_MINI", "YM": "CBOT_MINI", "MYM": "CBOT_MINI", "CL": "NYMEX", "MCL": "NYMEX",
              "GC": "COMEX", "MGC": "COMEX"}
_TV_INTERVAL = {1: "1", 5: "5", 15: "15", 30: "30", 60: "60", 240: "240", 1440: "D"}

# Page landmarks (TradingView's markup; the test pages imitate them).
_EMAIL_BUTTON = ("//button[normalize-space(.)='Email' or @name='Email' or contains(@class,'emailButton')]"
                 " | //span[normalize-space(.)='Email']/ancestor::button[1]")
_USER_INPUT = "input[name='id_username'], input[name='username'], input[autocomplete='username']"
_PASS_INPUT = "input[name='id_password'], input[name='password'], input[type='password']"
_SUBMIT = "button[type='submit']"
_SIGNED_IN = "[data-name='header-user-menu-button'], .tv-header__user-menu-button--logged"
_CAPTCHA = "iframe[src*='recaptcha'], iframe[src*='captcha'], .recaptcha-checkbox, [data-name='captcha']"
_FORM_ERROR = ".tv-form-error, [data-name='form-error'], [class*='errorMessage'], [role='alert']"
_CHART = ".chart-container, .chart-markup-table, [data-name='pane-canvas']"

# True once some canvas on the page has a non-transparent pixel (a drawn chart, not an empty pane).
_CANVAS_DRAWN_JS = """
const cs = Array.from(document.querySelectorAll('canvas')).filter(c => c.width > 0 && c.height > 0);
for (const c of cs) {
  let ctx; try { ctx = c.getContext('2d'); } catch (e) { return true; }
  if (!ctx) return true;  // a WebGL canvas: cannot sample it, its presence has to do
  try {
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      const p = ctx.getImageData(Math.floor((x + 0.5) * c.width / 8), Math.floor((y + 0.5) * c.height / 8), 1, 1).data;
      if (p[3] !== 0) return true;
    }
  } catch (e) { return true; }
}
return false;
"""


class LoginFailed(TradeCoachError):
    """Sign-in did not succeed; `reason` is one of captcha | rejected | no_email_option | no_form |
    timeout, `detail` the page's own message where it showed one."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"TradingView sign-in failed ({reason}): {detail}")
        self.reason = reason
        self.detail = detail


class ChartNotReady(TradeCoachError):
    """The chart page never drew a canvas within the wait."""


def tradingview_symbol(symbol: str) -> str:
    """'MNQ1!' -> 'CME_MINI:MNQ1!'; 'NASDAQ:AAPL' and plain equities pass through."""
    from core.market.calendar import futures_root

    s = symbol.strip().upper()
    if not s:
        raise InputError("symbol", "must not be empty")
    if ":" in s:
        return s
    root = futures_root(s)
    prefix = _TV_PREFIX.get(root) if root else None
    return f"{prefix}:{s}" if prefix else s


def tradingview_interval(interval: str) -> str:
    iv = parse_interval(interval)
    code = _TV_INTERVAL.get(iv.minutes)
    if code is None:
        raise InputError("interval", f"TradingView capture supports {', '.join(map(str, _TV_INTERVAL))} minutes")
    return code


def _settings_value(key: str) -> str | None:
    """A non-secret value from settings.json (lower-case key), where the app's settings live."""
    from core.config import settings_file

    path = settings_file()
    if not path.exists():
        return None
    try:
        value = json.loads(path.read_text()).get(key.lower())
    except (OSError, json.JSONDecodeError):
        log.warning("settings file %s is unreadable; ignoring it for %s", path, key, exc_info=True)
        return None
    return str(value) if value else None


@dataclass(frozen=True)
class TradingViewConfig:
    base_url: str = DEFAULT_BASE_URL
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    chromium: str = CHROMIUM
    chromedriver: str = CHROMEDRIVER
    width: int = 1600
    height: int = 900
    page_timeout_s: float = 30.0
    chart_timeout_s: float = 30.0
    settle_s: float = 1.0   # after the canvas draws: let late layers (indicators, price scale) paint

    @classmethod
    def from_env(cls, **overrides: object) -> TradingViewConfig:
        """Base URL from TRADINGVIEW_BASE_URL (env, then settings.json); credentials from the env,
        then the OS keyring / 0600 secrets file (core.secrets)."""
        from core.config import config_dir
        from core.secrets import SecretStore

        base = os.environ.get("TRADINGVIEW_BASE_URL") or _settings_value("TRADINGVIEW_BASE_URL") or DEFAULT_BASE_URL
        secrets = SecretStore(config_dir())
        user = os.environ.get(USERNAME_KEY) or secrets.get(USERNAME_KEY)
        pw = os.environ.get(PASSWORD_KEY) or secrets.get(PASSWORD_KEY)
        kw: dict[str, object] = {"base_url": base.rstrip("/"), "username": user or None, "password": pw or None}
        kw.update(overrides)
        return cls(**kw)  # type: ignore[arg-type]

    @property
    def has_credentials(self) -> bool:
        return bool(self.username and self.password)

    def chart_url(self, symbol: str, interval: str) -> str:
        return (f"{self.base_url.rstrip('/')}/chart/?symbol={quote(tradingview_symbol(symbol), safe=':')}"
                f"&interval={tradingview_interval(interval)}")


class TradingViewBrowser:
    """One headless Chromium session. Blocking: run it in a worker thread from async code."""

    def __init__(self, config: TradingViewConfig) -> None:
        self.config = config
        self._driver = None  # type: ignore[var-annotated]
        self._profile: str | None = None
        self.signed_in = False

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> TradingViewBrowser:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service

        from core.procs import system_program_env

        for what, path in (("chromium", self.config.chromium), ("chromedriver", self.config.chromedriver)):
            if not Path(path).exists():
                raise TradeCoachError(f"{what}: {path} not found (install Debian's chromium and chromium-driver)")
        self._profile = tempfile.mkdtemp(prefix="tradecoach-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = self.config.chromium
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--hide-scrollbars", f"--user-data-dir={self._profile}"):
            opts.add_argument(flag)
        try:
            # An explicit driver path: Selenium Manager (which would download a driver) never runs.
            service = Service(self.config.chromedriver, env=system_program_env())  # not the bundle's libraries
            self._driver = webdriver.Chrome(service=service, options=opts)
        except WebDriverException as exc:
            self.close()
            raise TradeCoachError(f"chromium: could not start ({exc.msg})") from exc
        self._driver.set_page_load_timeout(self.config.page_timeout_s)
        self._driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": self.config.width, "height": self.config.height, "deviceScaleFactor": 1, "mobile": False})

    def close(self) -> None:
        if self._driver is not None:
            try:
                self._driver.quit()
            except Exception:  # quitting a crashed browser: log it, still remove the profile
                log.warning("chromium did not quit cleanly", exc_info=True)
            self._driver = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    @property
    def driver(self):  # type: ignore[no-untyped-def]
        if self._driver is None:
            raise TradeCoachError("chromium: the browser is not started")
        return self._driver

    # -- sign-in ---------------------------------------------------------------------------------
    def login(self) -> None:
        """Sign in with the configured credentials; LoginFailed(reason, detail) when it does not work."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        cfg = self.config
        if not cfg.has_credentials:
            raise LoginFailed("no_credentials", f"set {USERNAME_KEY} and {PASSWORD_KEY} (keyring or environment)")
        d = self.driver
        d.get(f"{cfg.base_url}/accounts/signin/")
        wait = WebDriverWait(d, cfg.page_timeout_s, poll_frequency=0.1)
        if self._captcha():
            raise LoginFailed("captcha", "TradingView shows a CAPTCHA before the sign-in form; "
                                         "sign in once in a normal browser from this machine, then retry")
        try:
            email = wait.until(lambda drv: drv.find_elements(By.XPATH, _EMAIL_BUTTON)
                               or drv.find_elements(By.CSS_SELECTOR, _USER_INPUT))
        except TimeoutException as exc:
            raise LoginFailed("no_email_option", "the sign-in page offered no 'Email' option") from exc
        if email[0].tag_name.lower() == "button":
            email[0].click()
        try:
            user = wait.until(lambda drv: [e for e in drv.find_elements(By.CSS_SELECTOR, _USER_INPUT)
                                           if e.is_displayed()])
        except TimeoutException as exc:
            raise LoginFailed("no_form", "the email sign-in form did not appear") from exc
        pw = [e for e in d.find_elements(By.CSS_SELECTOR, _PASS_INPUT) if e.is_displayed()]
        if not pw:
            raise LoginFailed("no_form", "the sign-in form has no password field")
        user[0].clear()
        user[0].send_keys(cfg.username)
        pw[0].clear()
        pw[0].send_keys(cfg.password)
        submit = [e for e in d.find_elements(By.CSS_SELECTOR, _SUBMIT) if e.is_displayed()]
        if submit:
            submit[0].click()
        else:
            pw[0].submit()
        outcome = self._await_outcome(cfg.page_timeout_s)
        if outcome == "signed_in":
            self.signed_in = True
            log.info("TradingView: signed in as %s", _mask(cfg.username or ""))
            return
        if outcome == "captcha":
            raise LoginFailed("captcha", "TradingView asked for a CAPTCHA after the password; "
                                         "sign in once in a normal browser from this machine, then retry")
        if outcome.startswith("error:"):
            raise LoginFailed("rejected", outcome[len("error:"):] or "the credentials were refused")
        raise LoginFailed("timeout", f"no signed-in page, error or CAPTCHA within {cfg.page_timeout_s:g} s")

    def _captcha(self) -> bool:
        from selenium.webdriver.common.by import By

        return any(e.is_displayed() for e in self.driver.find_elements(By.CSS_SELECTOR, _CAPTCHA))

    def _await_outcome(self, timeout_s: float) -> str:
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
        from selenium.webdriver.common.by import By

        d = self.driver
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                if d.find_elements(By.CSS_SELECTOR, _SIGNED_IN):
                    return "signed_in"
                if self._captcha():
                    return "captcha"
                errors = [e.text.strip() for e in d.find_elements(By.CSS_SELECTOR, _FORM_ERROR)
                          if e.is_displayed() and e.text.strip()]
                if errors:
                    return "error:" + errors[0]
            except (StaleElementReferenceException, WebDriverException):
                log.debug("page changed while checking the sign-in outcome", exc_info=True)
            time.sleep(0.1)
        return "timeout"

    # -- chart -----------------------------------------------------------------------------------
    def chart_png(self, symbol: str, interval: str) -> bytes:
        """PNG of the chart area (or the whole page where no chart container is found) once a canvas
        has drawn; ChartNotReady when none does within chart_timeout_s."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        cfg = self.config
        d = self.driver
        d.get(cfg.chart_url(symbol, interval))
        try:
            WebDriverWait(d, cfg.chart_timeout_s, poll_frequency=0.1).until(
                lambda drv: drv.execute_script(_CANVAS_DRAWN_JS))
        except TimeoutException as exc:
            raise ChartNotReady(f"TradingView chart for {symbol} {interval}: no canvas drew within "
                                f"{cfg.chart_timeout_s:g} s") from exc
        if cfg.settle_s > 0:
            time.sleep(cfg.settle_s)
        box = [e for e in d.find_elements(By.CSS_SELECTOR, _CHART) if e.is_displayed()]
        return box[0].screenshot_as_png if box else d.get_screenshot_as_png()


def _mask(name: str) -> str:
    return name[:2] + "***" if name else "?"


def capture_tradingview_png(config: TradingViewConfig, symbol: str, interval: str) -> tuple[bytes, float, bool]:
    """One capture in a fresh browser: sign in when credentials are set (a failure raises), load the
    chart, return (png, milliseconds, signed_in)."""
    t0 = time.perf_counter()
    with TradingViewBrowser(config) as tv:
        if config.has_credentials:
            tv.login()
        png = tv.chart_png(symbol, interval)
        return png, (time.perf_counter() - t0) * 1000, tv.signed_in


class TradingViewSession:
    """One browser kept across captures (signed in once), for the scheduler: a new browser and
    sign-in per capture costs seconds. Selenium drivers are not thread-safe, so every call runs on
    this session's own single worker thread. A browser that died is restarted once per capture."""

    def __init__(self, config: TradingViewConfig) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.config = config
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tradingview")
        self._browser: TradingViewBrowser | None = None
        self.logins = 0

    def _ensure(self) -> TradingViewBrowser:
        if self._browser is None:
            b = TradingViewBrowser(self.config)
            b.start()
            if self.config.has_credentials:
                try:
                    b.login()
                except BaseException:
                    b.close()
                    raise
                self.logins += 1
            self._browser = b
        return self._browser

    def _drop(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None

    def _png(self, symbol: str, interval: str) -> tuple[bytes, float]:
        from selenium.common.exceptions import WebDriverException

        t0 = time.perf_counter()
        try:
            png = self._ensure().chart_png(symbol, interval)
        except WebDriverException:
            log.warning("TradingView browser failed; restarting it once", exc_info=True)
            self._drop()
            png = self._ensure().chart_png(symbol, interval)
        return png, (time.perf_counter() - t0) * 1000

    async def chart_png(self, symbol: str, interval: str) -> tuple[bytes, float]:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self._executor, self._png, symbol, interval)

    def close(self) -> None:
        self._executor.submit(self._drop).result()
        self._executor.shutdown(wait=True)

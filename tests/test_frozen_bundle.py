"""The PyInstaller bundle (build.spec) built from this checkout and run as a user would run it: the
window's smoke test, the GPT server, the chart reader on the bundled tesseract, a prediction by the
spawned inference worker (torch, the default model) and a training child run as `--run-module`.

Every frozen run gets its own HOME, data and config dirs, and a PATH without tesseract, so the bundle
proves it carries what it needs and writes nothing to the user's home."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
CHART = REPO / "tests" / "data" / "chartread" / "lwc_dark_spy5m_60.png"


# -- the bundled tesseract, from source (fast) ----------------------------------------------------------
def _fake_bundle(root: Path, *, with_eng: bool) -> Path:
    """The `tesseract/` layout build.spec writes, made from the system's tesseract."""
    exe = shutil.which("tesseract")
    assert exe, "tesseract (apt tesseract-ocr) is a dependency of the chart reader"
    env = {k: v for k, v in os.environ.items() if k != "TESSDATA_PREFIX"}  # the system's own data folder
    out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, check=True, env=env)
    system_data = Path(re.search(r'"(.+?)"', out.stdout + out.stderr).group(1))  # type: ignore[union-attr]
    folder = root / "tesseract"
    (folder / "tessdata").mkdir(parents=True)
    os.symlink(exe, folder / "tesseract")
    shutil.copytree(system_data / "configs", folder / "tessdata" / "configs")
    if with_eng:
        shutil.copy(system_data / "eng.traineddata", folder / "tessdata")
    return folder


def test_frozen_chart_reader_uses_the_bundled_tesseract_and_its_language_data(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pytesseract

    from core.chartread import ocr
    from core.paths import bundled_tesseract

    assert bundled_tesseract() is None  # from source: PATH's tesseract
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", pytesseract.pytesseract.tesseract_cmd)
    monkeypatch.setenv("TESSDATA_PREFIX", "")
    rgb = np.asarray(Image.open(CHART).convert("RGB"))[:, -70:]  # the price-axis strip
    bg = np.array(rgb[5, 5])

    empty = tmp_path / "empty"
    folder = _fake_bundle(empty, with_eng=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(empty), raising=False)
    assert bundled_tesseract() == (folder / "tesseract", folder / "tessdata")
    with pytest.raises(pytesseract.TesseractError, match="eng"):  # its own (empty) language data, not the system's
        ocr.read_words(rgb, bg, whitelist=ocr.DIGITS)
    assert pytesseract.pytesseract.tesseract_cmd == str(folder / "tesseract")

    full = tmp_path / "full"
    folder = _fake_bundle(full, with_eng=True)
    monkeypatch.setattr(sys, "_MEIPASS", str(full))
    words = ocr.read_words(rgb, bg, whitelist=ocr.DIGITS)
    assert os.environ["TESSDATA_PREFIX"] == str(folder / "tessdata")
    assert sum(bool(re.fullmatch(r"\d+\.\d\d", w.text)) for w in words) >= 4  # the axis' price labels


def test_system_programs_get_the_users_library_path_back_when_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.procs import system_program_env

    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/bundle/_internal")
    monkeypatch.setenv("LD_LIBRARY_PATH_ORIG", "/usr/local/lib")
    assert system_program_env()["LD_LIBRARY_PATH"] == "/opt/bundle/_internal"  # from source: untouched
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    env = system_program_env()
    assert env["LD_LIBRARY_PATH"] == "/usr/local/lib" and "LD_LIBRARY_PATH_ORIG" not in env
    monkeypatch.delenv("LD_LIBRARY_PATH_ORIG")  # the user had none: the bundle's must not leak
    assert "LD_LIBRARY_PATH" not in system_program_env()
    assert os.environ["LD_LIBRARY_PATH"] == "/opt/bundle/_internal"  # the app's own children keep it


# -- the real bundle (slow) -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the bundle once for this module (no cache: a fresh work dir); removed afterwards (~1.4 GB)."""
    root = tmp_path_factory.mktemp("bundle")
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                          "--distpath", str(root / "dist"), "--workpath", str(root / "work"), "build.spec"],
                         cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stderr[-4000:]
    app = root / "dist" / "tradecoach" / "tradecoach"
    assert app.is_file()
    size = sum(p.stat().st_size for p in app.parent.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"\nbundle built in {time.monotonic() - started:.0f} s, {size / 2**20:.0f} MiB", file=sys.stderr)
    yield app
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def frozen_env(tmp_path: Path) -> dict[str, str]:
    """A user's environment with nothing of this checkout's: own HOME and data dirs, no venv, and no
    tesseract on PATH (only the bundle's can answer)."""
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"  # the few programs a desktop has, without tesseract
    bin_dir.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "TESSDATA", "TRADECOACH", "NUMBA", "XDG_"))}
    env.update(HOME=str(home), PATH=str(bin_dir), QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1",
               TRADECOACH_DATA_DIR=str(tmp_path / "data"), TRADECOACH_CONFIG_DIR=str(tmp_path / "config"))
    return env


def _run(app: Path, args: list[str], env: dict[str, str], cwd: Path, timeout: float = 300) \
        -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(app), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_frozen_bundle_help_smoke_and_read_chart(bundle: Path, frozen_env: dict[str, str], tmp_path: Path) -> None:
    out = _run(bundle, ["--help"], frozen_env, tmp_path)
    assert out.returncode == 0 and "usage: tradecoach" in out.stdout, out.stderr[-2000:]

    shot = tmp_path / "smoke.png"
    started = time.monotonic()
    out = _run(bundle, ["--smoke", str(shot)], frozen_env, tmp_path)
    print(f"\nfrozen --smoke: {time.monotonic() - started:.1f} s", file=sys.stderr)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[0] >= 500 and img.shape[1] >= 800
    colours = np.unique(img.reshape(-1, 3)[::7], axis=0)
    assert len(colours) > 200 and img.std() > 10  # a drawn window (chart, panels, text), not a blank grab
    report = json.loads(shot.with_suffix(".json").read_text())
    assert report  # the smoke report the source build writes too

    out = _run(bundle, ["read-chart", str(CHART), "--json"], frozen_env, tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]
    reading = json.loads(out.stdout)
    truth = json.loads(CHART.with_suffix(".json").read_text())
    assert reading["kind"] == "candlestick", reading["reason"]
    closes = [b["close"] for b in truth["bars"]]
    assert len(reading["price_axis"]["labels"]) >= 4  # price labels read by OCR: the bundled tesseract ran
    assert abs(len(reading["bars"]) - len(truth["bars"])) <= 2
    assert min(closes) - 1 <= reading["last_price"] <= max(closes) + 1

    # The desktop entry, installed by the script the bundle ships, starts this bundle's program.
    share = tmp_path / "share"
    script = bundle.parent / "_internal" / "resources" / "linux" / "install-desktop-entry.sh"
    desktop = {**frozen_env, "XDG_DATA_HOME": str(share), "PATH": "/usr/bin:/bin"}  # a desktop's coreutils
    out = subprocess.run(["/bin/bash", str(script)], env=desktop,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    entry = (share / "applications" / "tradecoach.desktop").read_text()
    assert f'Exec="{bundle}"' in entry and "Icon=tradecoach" in entry
    assert (share / "icons" / "hicolor" / "256x256" / "apps" / "tradecoach.png").is_file()

    # Everything went to the data dir; HOME holds at most numba's compiled-kernel cache (a frozen app
    # has no source folder to cache beside, so numba uses the user cache dir).
    written = {p.relative_to(tmp_path / "home").parts[:2] for p in (tmp_path / "home").rglob("*") if p.is_file()}
    assert written <= {(".cache", "numba")}, written
    assert (tmp_path / "data").is_dir()


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_frozen_bundle_serves_health_predicts_and_trains(bundle: Path, frozen_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    env = {**frozen_env, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(bundle), "serve", "--port", "0"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 240
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if m := re.search(r"serving on (http://\S+)", line):
                url = m.group(1)
                break
        assert url, "".join(lines)[-4000:]
        r = httpx.get(f"{url}/gpt/health", timeout=30)
        assert r.status_code == 200
        body = r.json()
        assert body["ok"] is True and body["feed"]["replayed"] is True and body["as_of"]
        page = httpx.get(f"{url}/tv", timeout=30)  # the vendored chart page, served from the bundle's resources
        assert page.status_code == 200 and "<html" in page.text.lower()
        lib = httpx.get(f"{url}/tv/vendor/lightweight-charts.standalone.production.js", timeout=30)
        assert lib.status_code == 200 and len(lib.content) > 100_000
    finally:
        proc.terminate()
        rc = proc.wait(timeout=30)
    assert rc == 0

    # The predictor: torch and the default model in the spawned inference worker (multiprocessing
    # in a frozen app: freeze_support in app/__main__.py).
    out = _run(bundle, ["predict", str(CHART), "--symbol", "SPY", "--no-store", "--json"], frozen_env, tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]
    forecast = json.loads(out.stdout)
    assert forecast["model_version"], forecast  # the shipped model answered, not a fallback
    low, high = forecast["close_range"]
    assert low < forecast["close"] < high

    # Training as the job runs it: `tradecoach --run-module models.cli train …` (core/procs.py).
    from tests.test_models_helpers import spy_between, write_bars_csv

    bars = write_bars_csv(spy_between("2019-02-01", "2019-03-15"), tmp_path / "spy.csv")
    out = _run(bundle, ["--run-module", "models.cli", "train", "--bars", str(bars), "--symbol", "SPY",
                        "--every-minutes", "60", "--epochs", "1", "--batch-size", "32", "--workers", "0",
                        "--threads", "1", "--out", str(tmp_path / "ck"), "--no-store", "--json"],
               frozen_env, tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["stopped"] == "completed" and info["last_epoch"] == 1
    assert Path(info["best_checkpoint"]).is_file()

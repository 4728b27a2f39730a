"""Chart images for the predictor, drawn with numpy (no Qt, no matplotlib), and real screenshots
brought to the same canonical size.

Training renders each sample's past bars as a candlestick chart; augmentation varies the look
(themes, candle widths, grids, an EMA line, a volume pane, a price-axis strip, crops and aspect
ratios) so screenshots from other charting tools are in distribution. Evaluation and the
leakage test use the canonical look (`Look()`), which is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.errors import InputError

HEIGHT = 64
WIDTH = 128

RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Theme:
    background: RGB
    up: RGB
    down: RGB
    grid: RGB
    line: RGB
    axis: RGB


THEMES: tuple[Theme, ...] = (
    Theme((19, 23, 34), (38, 166, 154), (239, 83, 80), (42, 46, 57), (41, 98, 255), (120, 123, 134)),   # dark
    Theme((255, 255, 255), (38, 166, 154), (239, 83, 80), (230, 232, 236), (41, 98, 255), (80, 80, 80)),  # light
    Theme((0, 0, 0), (0, 200, 0), (220, 0, 0), (30, 30, 30), (255, 200, 0), (160, 160, 160)),          # classic
    Theme((250, 250, 245), (20, 20, 20), (150, 150, 150), (225, 225, 220), (200, 60, 60), (90, 90, 90)),  # mono
    Theme((13, 17, 23), (63, 185, 80), (248, 81, 73), (33, 38, 45), (210, 153, 34), (139, 148, 158)),   # github-dark
)


@dataclass(frozen=True, slots=True)
class Look:
    """How one chart is drawn. The default is the canonical look used for evaluation."""

    theme: Theme = THEMES[0]
    grid: bool = False
    ema: bool = False
    volume: bool = False
    axis_px: int = 0          # width of a price-axis strip on the right
    last_line: bool = False   # dashed line at the last close, as most tools draw
    height: int = HEIGHT      # drawn at this size, then resized to HEIGHT x WIDTH (aspect/crop)
    width: int = WIDTH
    body_frac: float = 0.7    # candle body width as a fraction of its slot


def random_look(rng: np.random.Generator) -> Look:
    """A random look for augmentation."""
    theme = THEMES[int(rng.integers(len(THEMES)))]
    if rng.random() < 0.3:  # jitter the colours so no palette is memorised exactly
        def jit(c: RGB) -> RGB:
            return tuple(int(v) for v in np.clip(np.array(c) + rng.integers(-25, 26, 3), 0, 255))  # type: ignore[return-value]
        theme = Theme(jit(theme.background), jit(theme.up), jit(theme.down), jit(theme.grid), jit(theme.line),
                      jit(theme.axis))
    return Look(theme=theme, grid=bool(rng.random() < 0.5), ema=bool(rng.random() < 0.4),
                volume=bool(rng.random() < 0.4), axis_px=int(rng.choice([0, 0, 10, 14, 18])),
                last_line=bool(rng.random() < 0.4), height=int(rng.integers(52, 84)),
                width=int(rng.integers(104, 168)), body_frac=float(rng.uniform(0.45, 0.9)))


def render(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray | None = None,
           look: Look | None = None) -> np.ndarray:
    """Candlestick chart of the given bars (oldest first) as a HEIGHT x WIDTH x 3 uint8 array.

    Prices may be in any unit (the chart is scale-free: it spans the bars' own low..high)."""
    look = look or Look()
    n = len(c)
    if n == 0:
        raise InputError("bars", "need at least one bar to draw")
    hh, ww = look.height, look.width
    img = np.empty((hh, ww, 3), dtype=np.uint8)
    img[:] = look.theme.background
    plot_w = ww - look.axis_px
    vol_h = hh // 5 if (look.volume and v is not None) else 0
    top, bottom = 2, hh - 3 - vol_h
    rows = np.arange(hh)[:, None]
    if look.grid:
        img[2:bottom:max(4, hh // 6), :plot_w] = look.theme.grid
        img[:, 0:plot_w:max(6, ww // 8)] = look.theme.grid
    pmax, pmin = float(np.max(h)), float(np.min(lo))
    span = pmax - pmin if pmax > pmin else max(abs(pmax), 1e-9) * 1e-3

    def y(p: np.ndarray) -> np.ndarray:
        return top + (pmax - p) / span * (bottom - top)

    slot = plot_w / n
    x = np.arange(plot_w) + 0.5
    b = np.minimum((x / slot).astype(np.int64), n - 1)
    centre = (b + 0.5) * slot
    dist = np.abs(x - centre)
    wick_col = dist <= 0.5 + 1e-9
    body_col = dist <= max(0.5, slot * look.body_frac / 2)
    up = c[b] >= o[b]
    y_hi, y_lo = np.floor(y(h[b])), np.ceil(y(lo[b]))
    y_bt, y_bb = np.floor(y(np.maximum(o[b], c[b]))), np.ceil(y(np.minimum(o[b], c[b])))
    y_bb = np.maximum(y_bb, y_bt + 1)  # a doji still shows one pixel
    wick = wick_col[None, :] & (rows >= y_hi[None, :]) & (rows <= y_lo[None, :])
    body = body_col[None, :] & (rows >= y_bt[None, :]) & (rows < y_bb[None, :])
    mask = wick | body
    colour = np.where(up[:, None], np.array(look.theme.up, np.uint8), np.array(look.theme.down, np.uint8))
    img[:, :plot_w] = np.where(mask[:, :, None], colour[None, :, :], img[:, :plot_w])
    plot = img[:, :plot_w]
    if look.ema and n > 1:
        alpha = 2.0 / (min(20, n) + 1)
        e = np.empty(n)
        e[0] = c[0]
        for i in range(1, n):  # n <= a few hundred: a plain loop is cheaper than scipy here
            e[i] = alpha * c[i] + (1 - alpha) * e[i - 1]
        ye = np.clip(np.round(y(e[b])).astype(np.int64), 0, hh - 1)
        plot[ye, np.arange(plot_w)] = look.theme.line
    if look.last_line:
        yl = int(np.clip(round(float(y(np.array([c[-1]]))[0])), 0, hh - 1))
        dash = (np.arange(plot_w) // 3) % 2 == 0
        plot[yl, dash] = look.theme.axis
    if vol_h and v is not None:
        vmax = float(np.max(v)) or 1.0
        vh = np.round(v[b] / vmax * (vol_h - 1)).astype(np.int64)
        vmask = body_col[None, :] & (rows >= hh - 1 - vh[None, :]) & (rows < hh - 1)
        faded = colour // 2 + np.array(look.theme.background, np.uint8) // 2
        plot[:] = np.where(vmask[:, :, None], faded[None, :, :], plot)
    if look.axis_px:
        img[:, plot_w] = look.theme.axis
        # Tick labels as short dashes of "text": the model should learn to ignore the strip.
        for yy in range(6, hh - 4, max(8, hh // 6)):
            img[yy:yy + 2, plot_w + 3:ww - 2] = look.theme.axis
    if (hh, ww) != (HEIGHT, WIDTH):
        img = resize(img)
    return img


def render_batch(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, theme: Theme = THEMES[0]) -> np.ndarray:
    """The canonical look (`Look()` with this theme) for many charts of the same bar count at
    once: (B, n) arrays → (B, HEIGHT, WIDTH, 3). Pixel-identical to `render`; evaluation uses it
    because drawing one chart at a time dominated its run time."""
    n = c.shape[1]
    if n == 0:
        raise InputError("bars", "need at least one bar to draw")
    look = Look(theme=theme)
    hh, ww = look.height, look.width
    top, bottom = 2, hh - 3
    pmax, pmin = h.max(axis=1, keepdims=True), lo.min(axis=1, keepdims=True)
    span = np.where(pmax > pmin, pmax - pmin, np.maximum(np.abs(pmax), 1e-9) * 1e-3)

    def y(p: np.ndarray) -> np.ndarray:
        return top + (pmax - p) / span * (bottom - top)

    slot = ww / n
    x = np.arange(ww) + 0.5
    b = np.minimum((x / slot).astype(np.int64), n - 1)
    dist = np.abs(x - (b + 0.5) * slot)
    wick_col = dist <= 0.5 + 1e-9
    body_col = dist <= max(0.5, slot * look.body_frac / 2)
    ob, hb, lb, cb = o[:, b], h[:, b], lo[:, b], c[:, b]
    y_hi, y_lo = np.floor(y(hb)), np.ceil(y(lb))
    y_bt, y_bb = np.floor(y(np.maximum(ob, cb))), np.ceil(y(np.minimum(ob, cb)))
    y_bb = np.maximum(y_bb, y_bt + 1)
    rows = np.arange(hh)[None, :, None]
    mask = ((wick_col[None, None, :] & (rows >= y_hi[:, None, :]) & (rows <= y_lo[:, None, :]))
            | (body_col[None, None, :] & (rows >= y_bt[:, None, :]) & (rows < y_bb[:, None, :])))
    colour = np.where((cb >= ob)[:, :, None], np.array(theme.up, np.uint8), np.array(theme.down, np.uint8))
    return np.where(mask[:, :, :, None], colour[:, None, :, :], np.array(theme.background, np.uint8))


def resize(img: np.ndarray) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(img).resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR))


def load_screenshot(source: str | Path | bytes | np.ndarray) -> np.ndarray:
    """A screenshot (path, encoded bytes or an RGB array) at the canonical size, uint8 RGB.

    Files and bytes go through core.images.load_image: the pixel limit is checked from the header
    before decoding, EXIF orientation is applied, large images are shrunk while decoding.
    Use `load_screenshot_checked` to also learn whether the image is blank (no chart seen).
    """
    return load_screenshot_checked(source)[0]


def load_screenshot_checked(source: str | Path | bytes | np.ndarray) -> tuple[np.ndarray, bool]:
    """(canonical RGB array, blank): blank is True when the image shows no chart to read."""
    from PIL import Image

    from core.images import MIN_SIDE, is_blank, load_image

    if isinstance(source, np.ndarray):
        if source.ndim != 3 or source.shape[2] < 3:
            raise InputError("image", f"expected an H x W x 3 array, got shape {source.shape}")
        im = Image.fromarray(np.ascontiguousarray(source[:, :, :3]).astype(np.uint8))
        if im.width < MIN_SIDE or im.height < MIN_SIDE:
            raise InputError("image", f"too small ({im.width}x{im.height}); need a chart screenshot")
        blank = is_blank(im)
    else:
        loaded = load_image(source, target=(WIDTH, HEIGHT))
        im, blank = loaded.image, loaded.blank
    return np.array(im.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)), blank  # writable (torch wants it)


def with_theme(look: Look, index: int) -> Look:
    return replace(look, theme=THEMES[index % len(THEMES)])

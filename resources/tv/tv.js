// The shareable chart: candles, EMAs, VWAP, plan lines (entry, stop, targets), levels and zones from the
// link's parameters; live updates over WS /stream/{symbol}; "degraded" when data is stale.
(function () {
  "use strict";
  const q = new URLSearchParams(location.search);
  const symbol = (q.get("symbol") || "").toUpperCase();
  const interval = q.get("interval") || "5m";
  const num = (v) => (v === null || v === "" || isNaN(Number(v)) ? null : Number(v));
  const list = (v) => (v ? v.split(",").map(Number).filter((x) => isFinite(x)) : []);
  const entry = num(q.get("entry")), stop = num(q.get("stop"));
  const tps = list(q.get("tp")), levels = list(q.get("levels"));
  const emaWanted = new Set((q.get("ema") || "9,20,50").split(",").map((s) => "EMA " + s.trim()));
  const showVwap = q.get("vwap") !== "0";
  const auth = "exp=" + encodeURIComponent(q.get("exp") || "") + "&sig=" + encodeURIComponent(q.get("sig") || "");
  const STALE_MS = 120000;
  const LC = window.LightweightCharts;
  document.getElementById("title").textContent = symbol + " · " + interval;
  if (entry !== null) {
    document.getElementById("plan").textContent = (q.get("direction") || "") + " entry " + entry +
      (stop !== null ? " stop " + stop : "") + (tps.length ? " TP " + tps.join(" / ") : "");
  }
  const el = document.getElementById("chart");
  // Exchange time (America/New_York) on the axis and crosshair, whatever the viewer's time zone.
  const nyFmt = (opts) => new Intl.DateTimeFormat("en-US", Object.assign({ timeZone: "America/New_York", hour12: false }, opts));
  const nyTime = nyFmt({ month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const nyTick = nyFmt({ hour: "2-digit", minute: "2-digit" }), nyDay = nyFmt({ month: "short", day: "numeric" });
  const chart = LC.createChart(el, {
    localization: { timeFormatter: (t) => nyTime.format(new Date(t * 1000)) + " ET" },
    autoSize: true, layout: { background: { color: "#131722" }, textColor: "#d1d4dc", attributionLogo: true },
    grid: { vertLines: { color: "#1e222d" }, horzLines: { color: "#1e222d" } },
    timeScale: { timeVisible: true, secondsVisible: false,
      tickMarkFormatter: (t, kind) => (kind >= 3 ? nyTick : nyDay).format(new Date(t * 1000)) },
  });
  const candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", borderVisible: false, wickUpColor: "#26a69a", wickDownColor: "#ef5350" });
  const colors = { "EMA 9": "#f7c948", "EMA 20": "#42a5f5", "EMA 50": "#ab47bc", "VWAP": "#ff9800" };
  const lines = {};
  const line = (price, color, title, style) => candles.createPriceLine({
    price, color, lineWidth: 2, lineStyle: style, axisLabelVisible: true, title });
  if (entry !== null) line(entry, "#2962ff", "entry", LC.LineStyle.Solid);
  if (stop !== null) line(stop, "#f23645", "stop", LC.LineStyle.Solid);
  tps.forEach((t, i) => line(t, "#089981", "TP" + (i + 1), LC.LineStyle.Dashed));
  levels.forEach((v) => line(v, "#787b86", "level", LC.LineStyle.Dotted));

  // Zones: the risk (entry..stop) and reward (entry..TP1) bands as a series primitive.
  class Zones {
    constructor(bands) { this.bands = bands; this.series = null; }
    attached(p) { this.series = p.series; }
    paneViews() {
      const self = this;
      return [{ zOrder: () => "bottom", renderer: () => ({
        draw(target) {
          target.useMediaCoordinateSpace(({ context, mediaSize }) => {
            for (const b of self.bands) {
              const y1 = self.series.priceToCoordinate(b.from), y2 = self.series.priceToCoordinate(b.to);
              if (y1 === null || y2 === null) continue;
              context.fillStyle = b.color;
              context.fillRect(0, Math.min(y1, y2), mediaSize.width, Math.abs(y2 - y1));
            }
          });
        } }) }];
    }
  }
  if (entry !== null) {
    const bands = [];
    if (stop !== null) bands.push({ from: entry, to: stop, color: "rgba(242,54,69,0.12)" });
    if (tps.length) bands.push({ from: entry, to: tps[0], color: "rgba(8,153,129,0.12)" });
    candles.attachPrimitive(new Zones(bands));
  }
  function badges(replayed, ageMs) {
    document.getElementById("replayed").style.display = replayed ? "inline" : "none";
    document.getElementById("degraded").style.display = ageMs !== null && ageMs > STALE_MS ? "inline" : "none";
  }
  let last = null;
  fetch("/tv-data/" + encodeURIComponent(symbol) + "?interval=" + encodeURIComponent(interval) + "&" + auth)
    .then((r) => r.json().then((j) => ({ ok: r.ok, j })))
    .then(({ ok, j }) => {
      if (!ok) throw new Error((j.error && j.error.reason) || "no data");
      const data = j.ts.map((t, i) => ({ time: t, open: j.open[i], high: j.high[i], low: j.low[i], close: j.close[i] }));
      candles.setData(data);
      last = data.length ? data[data.length - 1] : null;
      for (const [name, values] of Object.entries(j.lines || {})) {
        if (!(emaWanted.has(name) || (showVwap && name === "VWAP"))) continue;
        const s = chart.addSeries(LC.LineSeries, { color: colors[name] || "#999", lineWidth: 1,
          priceLineVisible: false, lastValueVisible: false, title: name });
        s.setData(j.ts.map((t, i) => (values[i] === null ? { time: t } : { time: t, value: values[i] })));
        lines[name] = s;
      }
      badges(j.replayed, j.data_age_ms);
      chart.timeScale().fitContent();
      document.body.dataset.ready = "1";
      live();
    })
    .catch((e) => { document.getElementById("error").textContent = String(e.message || e); document.body.dataset.ready = "error"; });

  function live() {
    if (q.get("live") === "0") return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/stream/" + encodeURIComponent(symbol) +
      "?interval=" + encodeURIComponent(interval) + "&" + auth);
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === "bar" && msg.bar) {
        const b = msg.bar, t = Math.floor(b.ts / 1e9);
        if (!last || t >= last.time) { last = { time: t, open: b.open, high: b.high, low: b.low, close: b.close }; candles.update(last); }
      } else if (msg.type === "heartbeat") {
        badges(msg.replayed, msg.data_age_ms);
      }
    };
    ws.onclose = () => setTimeout(live, 5000);
  }
})();

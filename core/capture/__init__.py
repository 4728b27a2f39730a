"""Chart captures: the screen (mss), a saved region, the kernel's own chart (theme-stable render) and
TradingView (headless Chromium). Every capture is stored with the seed's file naming under the data
dir and recorded as a `snapshots` row. No Qt here: the app's own widget grab hands PNG bytes to
`store.save_png`."""

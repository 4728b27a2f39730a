"""One controller per panel: kernel calls (through `kernel.runtime.wrap`) and bus events in, panel
render calls out. GUI thread only."""

"""Scheduled collection on the exchange calendar: session open/close captures, the session's
minute bars, prediction outcomes, optional session-candle captures, and training samples built
from them. Time comes only from the injected clock, so a replayed week runs the same loop."""

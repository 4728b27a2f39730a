"""Dockable panels: each renders state handed to it and emits the trader's intent as signals."""

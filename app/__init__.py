"""The composition root: CLI entry points, the Qt main window and its wiring to the kernel."""

"""Market data feeds: the replay feed (default, bundled real data) and vendor providers."""

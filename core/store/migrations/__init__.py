"""Alembic migration environment (loaded by path by Alembic; a package only so wheels ship it)."""

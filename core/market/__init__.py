"""Bars, intervals, exchange calendars, sessions, resampling and import of user bars."""

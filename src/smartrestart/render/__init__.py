"""Turning results into text and JSON: pure functions, no I/O."""

"""Hooks for the whole suite: under CI=true a skip fails the run (tests/skippolicy.py)."""

from tests.skippolicy import pytest_make_collect_report, pytest_runtest_makereport

__all__ = ["pytest_make_collect_report", "pytest_runtest_makereport"]

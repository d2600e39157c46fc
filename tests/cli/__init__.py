"""Tests of analytics.cli."""

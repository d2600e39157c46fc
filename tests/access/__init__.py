"""Tests of analytics.access."""

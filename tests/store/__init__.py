"""Tests of analytics.store."""

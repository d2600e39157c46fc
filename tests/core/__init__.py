"""Tests of analytics.core."""

"""Tests of analytics.domain."""

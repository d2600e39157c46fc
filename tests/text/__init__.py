"""Tests of analytics.text."""

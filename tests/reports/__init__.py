"""Tests of analytics.reports."""

"""Tests of analytics.demo."""

"""Tests of analytics.ingest."""

"""The test suite: one folder per layer of analytics/ (README "Layout"), the pages in tests/pages."""

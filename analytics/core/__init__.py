"""Lowest layer: periods, dates, labels, privacy, the export contract, safe export cells, the config loader. Imports nothing of analytics."""

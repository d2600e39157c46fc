"""Tests of the pages and the app, in AppTest and in a real browser."""

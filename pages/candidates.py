"""监督项目备选库 — candidate supervision topics taken from hot words."""
from __future__ import annotations

from pages import _layout

URL_PATH = "candidates"


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    _layout.planned(URL_PATH)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from app import main

    main()

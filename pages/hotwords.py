"""热词分析 — hot words of citizens' opinions, rising and falling, with the opinions behind them."""
from __future__ import annotations

from pages import _layout

URL_PATH = "hotwords"


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    _layout.planned(URL_PATH)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from app import main

    main()

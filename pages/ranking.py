"""镇街排名 — the 23 towns ranked on the five indices each quarter."""
from __future__ import annotations

from pages import _layout

URL_PATH = "ranking"


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    _layout.planned(URL_PATH)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from app import main

    main()

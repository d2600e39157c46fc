"""代表联络站驾驶舱 — entry point: ``streamlit run app.py``.

Routes the pages with ``st.navigation`` and runs the shared shell (first-start demo data, banner,
period/town sidebar) before every page. No computation here: pages lay out, ``analytics`` computes.

Every page module under ``pages/`` ends with a guard that calls ``main()`` when Streamlit runs the
file directly (its legacy ``pages/`` mode does that on a fresh server for the URL ``/<stem>``), so no
URL reaches a page without passing through here.
"""
from __future__ import annotations

import streamlit as st

from analytics import labels
from pages import _layout, candidates, cockpit, data, hotwords, ranking, reps, suggestions

# url_path -> page module; the order and the words come from analytics.labels.PAGES.
PAGE_MODULES = {
    "cockpit": cockpit,
    "ranking": ranking,
    "hotwords": hotwords,
    "candidates": candidates,
    "suggestions": suggestions,
    "reps": reps,
    "data": data,
}


def build_pages() -> list:
    return [
        st.Page(PAGE_MODULES[p.url_path].render, title=p.title, url_path=p.url_path, icon=p.icon,
                default=(i == 0))
        for i, p in enumerate(labels.PAGES)
    ]


def main() -> None:
    st.set_page_config(page_title=labels.APP_TITLE, page_icon=":material/hub:", layout="wide")
    page = st.navigation(build_pages(), position="sidebar")
    _layout.shell()
    page.run()


if __name__ == "__main__":
    main()

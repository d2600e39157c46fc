"""数据管理 — what is in the store now (rows per kind, where the file is); importing, rejected rows
and undo come here next."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.contract import load_contract
from pages import _layout

URL_PATH = "data"


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    _layout.planned(URL_PATH)
    sel = _layout.selection()
    counts = _layout.store_counts(sel.db, sel.version)
    kinds = load_contract().kinds
    st.subheader("当前数据库")
    st.caption(f"文件：{sel.db}" + ("（演示数据）" if sel.is_demo else ""))
    st.dataframe(
        pd.DataFrame({"数据类别": [kinds[k].label for k in counts], "行数": list(counts.values())}),
        hide_index=True, width="content",
    )


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from app import main

    main()

"""The 热词分析 page leads with the hot issues, each with its receipt and its opinions (AppTest)."""
from __future__ import annotations

from tests.pages.test_app import app_at, texts


def test_hotwords_page_leads_with_hot_issues(demo_db, monkeypatch):
    at = app_at(demo_db, monkeypatch, "hotwords").run()
    assert not at.exception, at.exception
    assert at.tabs[0].label == "热点问题"
    labels = [e.label for e in at.expander]
    issues = [lb for lb in labels if "热度" in lb and "条意见" in lb]
    assert issues and issues[0].startswith("1. ")
    assert "怎么算的" in labels
    body = texts(at)
    assert "10 × ln(1 + 意见数)" in body and "代表性留言" in body
    assert "None" not in " ".join(labels) and "nan" not in " ".join(labels)
    # Each issue can be put into the candidate pool.
    assert any(b.label == "加入备选库" for b in at.button)


def test_a_hot_issue_put_into_the_pool_shows_it_on_the_candidates_page(demo_db, tmp_path, monkeypatch):
    import shutil

    from analytics.domain import hotissues as hi
    from analytics.domain import metrics
    from analytics.store.db import connect

    db = tmp_path / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    q = metrics.latest_period(con, "quarter")
    issue = hi.hot_issues(con, q.start, q.end, top=1)[0]
    hi.add_issue_candidate(con, issue, q.start, q.end, "测试员")
    con.close()
    at = app_at(db, monkeypatch, "candidates").run()
    assert not at.exception, at.exception
    body = texts(at)
    assert f"来自热点问题 **{issue['title']}**" in body
    assert f"{issue['first'].year}年{issue['first'].month}月{issue['first'].day}日至" in body


def test_an_issue_with_support_says_so_in_its_line(demo_db, tmp_path, monkeypatch):
    """Opinions with a 支持数 (the demo exports have none): each issue's line says 支持 N, N the sum."""
    import re
    import shutil

    from analytics.domain import hotissues as hi
    from analytics.store.db import connect

    db = tmp_path / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    con.execute("UPDATE opinions SET support = 7")
    con.execute("DELETE FROM derived WHERE name = ?", [hi.HOT_ISSUES])  # counted ahead without the support
    con.close()
    at = app_at(db, monkeypatch, "hotwords").run()
    assert not at.exception, at.exception
    issues = [e.label for e in at.expander if "热度" in e.label and "条意见" in e.label]
    assert issues
    for label in issues:
        n = int(re.search(r"(\d+) 条意见", label).group(1))
        assert f"人、支持 {7 * n} · " in label, label

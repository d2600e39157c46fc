"""Results kept in the store (analytics/store/derived.py): the importer counts ahead what the first query
of every later process would count; a stored result is used only while the data and the settings
are the ones it was computed from, and it is exactly what computing would give."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics.domain import ahead
from analytics.store import derived
from analytics.domain import duty
from analytics.domain import indices
from analytics.store import memo
from analytics.domain import ranking
from analytics.store import db as store
from analytics.domain import hotissues as hi
from analytics.domain import hotwords as hw
from analytics.domain import suggestions
from analytics.ingest.importer import import_files
from analytics.core.periods import Period
from analytics.store.db import connect


@pytest.fixture()
def db(demo_db, tmp_path) -> Path:
    path = tmp_path / "cockpit.duckdb"
    shutil.copy(demo_db, path)
    memo.clear()
    yield path
    memo.clear()


def rows(path: Path) -> list[tuple]:
    con = connect(path, read_only=True)
    try:
        return con.execute("SELECT name, key, fingerprint FROM derived ORDER BY name, key").fetchall()
    finally:
        con.close()


def figures(path: Path, period: Period) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The town indices, the station indices and the ranking of ``period``, on a fresh read."""
    memo.clear()
    con = connect(path, read_only=True)
    try:
        rank = ranking.ranking(con, period) if period.grain == "quarter" else pd.DataFrame()
        return (indices.compute_indices(con, period, "town"), indices.compute_indices(con, period, "station"), rank)
    finally:
        con.close()


def latest_quarter(path: Path) -> Period:
    con = connect(path, read_only=True)
    try:
        return indices.default_period(con)
    finally:
        con.close()


def same_frames(got, want) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        pd.testing.assert_frame_equal(a, b)


def without_store(monkeypatch):
    monkeypatch.setattr(derived, "load", lambda *a, **k: None)


def no_counting(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("counted again although the store holds the result")
    monkeypatch.setattr(duty, "_count_days", refuse)
    monkeypatch.setattr(indices, "_count_cells", refuse)


def test_migration_5_is_the_derived_table():
    assert [" ".join(s.split()) for s in store.MIGRATIONS[5]] == [" ".join(s.split()) for s in derived.SCHEMA]


def test_the_first_start_counts_ahead_and_later_processes_read_it(db, monkeypatch):
    got = rows(db)
    assert {n for n, _, _ in got} == {duty.DAY_COUNTS, indices.CELLS, indices.SCORES, indices.SPELLINGS, hw.RISING_COUNTS,
                                      suggestions.REPORT, hi.HOT_ISSUES, hi.ASSIGNMENT,
                                      derived.FINGERPRINT}
    con = connect(db, read_only=True)
    try:
        period = indices.default_period(con)
        assert {fp for _, _, fp in got} == {derived.fingerprint(con)}
    finally:
        con.close()
    with monkeypatch.context() as m:
        no_counting(m)  # the default views are answered from the store alone
        # … without a pass over every row for the fingerprint: the one kept for this data is read
        m.setattr(derived, "fingerprint", lambda *a, **k: (_ for _ in ()).throw(AssertionError("fingerprint computed")))
        stored = figures(db, period)
    with monkeypatch.context() as m:
        without_store(m)
        computed = figures(db, period)
    same_frames(stored, computed)


def fresh_views(path, views):
    """``views(con)`` on a new read-only connection of a process that has kept nothing."""
    memo.clear()
    con = connect(path, read_only=True)
    try:
        return views(con)
    finally:
        con.close()


def stored_and_computed(db, monkeypatch, name: str, views):
    """``views(con)`` on a read-only connection twice: with ``name`` only read from the store (computing
    it fails the test), and with the store's derived rows ignored."""
    def run(path):
        return fresh_views(path, views)

    with monkeypatch.context() as m:
        real = memo._stored_or_computed

        def no_count(con, what, key, compute):
            if what == name:
                def refuse():
                    raise AssertionError(f"{name} computed again although the store holds it")
                return real(con, what, key, refuse)
            return real(con, what, key, compute)
        m.setattr(memo, "_stored_or_computed", no_count)
        stored = run(db)
    with monkeypatch.context() as m:
        without_store(m)
        computed = run(db)
    return stored, computed


def test_rising_words_of_the_default_windows_are_read_from_the_store(db, monkeypatch):
    from analytics.domain import metrics

    def rising(con):
        q = metrics.latest_period(con, "quarter")
        easy = hw.BurstParams()
        return [hw.rising_words(con, q.start, q.end, params=easy), hw.rising_words(con, *hw.latest_window(con))]

    stored, computed = stored_and_computed(db, monkeypatch, hw.RISING_COUNTS, rising)
    same_frames(stored, computed)


def test_hot_issues_of_the_default_windows_are_read_from_the_store(db, monkeypatch):
    from analytics.domain import metrics

    def issues(con):
        q = metrics.latest_period(con, "quarter")
        return [hi.hot_issues(con, q.start, q.end), hi.hot_issues(con, *hw.latest_window(con))]

    stored, computed = stored_and_computed(db, monkeypatch, hi.HOT_ISSUES, issues)
    assert stored == computed and stored[0]


def test_hot_issues_of_any_filter_are_those_of_the_store_issues_kept_at_import(db, monkeypatch):
    """A month, a town, a channel: no filter groups opinions again; each reads the store's issues that
    the import built, and gives what grouping afresh gives."""
    from analytics.domain import metrics

    def issues(con):
        q = metrics.latest_period(con, "quarter")
        town = con.execute("SELECT town FROM opinion_seg WHERE town IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC "
                           "LIMIT 1").fetchone()[0]
        month = q.start.replace(month=q.start.month + 1)
        return [hi.hot_issues(con, month, month.replace(month=month.month + 1)),
                hi.hot_issues(con, q.start, q.end, town=town),
                hi.hot_issues(con, q.start.replace(month=1), q.end, channel="民声e")]

    def run():
        return fresh_views(db, issues)

    with monkeypatch.context() as m:
        def refuse(*a, **k):
            raise AssertionError("opinions grouped again although the store holds its issues")
        m.setattr(hi._Clusterer, "feed", refuse)
        stored = run()
    with monkeypatch.context() as m:
        without_store(m)
        computed = run()
    assert stored == computed and all(stored)


@pytest.mark.parametrize("code", ["Q1", "month", "year"])
def test_other_periods_agree_whether_counted_or_read(db, monkeypatch, code):
    """Day counts are stored per year and serve every period inside it (a Q1 ranking compares with
    the previous year's Q4, which is counted)."""
    latest = latest_quarter(db)
    period = {"Q1": Period("quarter", latest.year, 1), "month": Period("month", latest.year, 3),
              "year": Period("year", latest.year)}[code]
    stored = figures(db, period)
    with monkeypatch.context() as m:
        without_store(m)
        computed = figures(db, period)
    same_frames(stored, computed)


def test_a_change_of_data_makes_them_stale_and_the_import_counts_again(db, monkeypatch, tmp_path):
    con = connect(db, read_only=True)
    try:
        period = indices.default_period(con)
        name, town = con.execute("SELECT name, town FROM reps ORDER BY rep_id LIMIT 1").fetchone()
        before_fp = derived.fingerprint(con)
        before_key = sorted(k for n, k, _ in rows(db) if n == duty.DAY_COUNTS)
    finally:
        con.close()
    before = figures(db, period)
    csv = tmp_path / "activities.csv"
    day = period.end.replace(day=1) - pd.Timedelta(days=20)
    csv.write_text("活动编号,活动日期,镇街,活动类型,活动主题,参与代表\n"
                   + "".join(f"NEW{i},{day:%Y-%m-%d},{town},视察,测试,{name}\n" for i in range(40)),
                   encoding="utf-8")
    # Stale rows are never read: with the importer's counting switched off, the figures are computed.
    with monkeypatch.context() as m:
        m.setattr(ahead, "build_quietly", lambda con: {})
        m.setattr(ahead, "warm_quietly", lambda db, wait=5.0: {})
        (r,) = import_files(db, [csv])
        assert r.imported == 40, r
        assert {fp for _, _, fp in rows(db)} == {before_fp}  # nothing rewritten
        changed = figures(db, period)
    assert not changed[0].equals(before[0])  # 40 visits changed the 践行 index
    con = connect(db, read_only=True)
    try:
        assert derived.load(con, duty.DAY_COUNTS, before_key[0], derived.fingerprint(con)) is None
    finally:
        con.close()
    # The importer counts again; the new rows give what computing gives.
    (r,) = import_files(db, [csv.rename(tmp_path / "again.csv")])
    assert r.unchanged == 40
    new = rows(db)
    assert len({fp for _, _, fp in new}) == 1 and new[0][2] != before_fp
    with monkeypatch.context() as m:
        no_counting(m)
        stored = figures(db, period)
    same_frames(stored, changed)


def test_an_unchanged_re_import_keeps_them(db, demo_db, monkeypatch):
    before = rows(db)
    exports = sorted((demo_db.parent / "demo_exports").iterdir())
    assert exports
    calls = []
    monkeypatch.setattr(duty, "_count_days", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(indices, "_count_cells", lambda *a, **k: calls.append(1))
    reports = import_files(db, exports)
    assert all(r.imported == r.updated == 0 for r in reports if r.error is None)
    assert rows(db) == before and not calls


def test_other_settings_are_not_served_from_the_store(db, monkeypatch):
    period = latest_quarter(db)
    cfg = duty.load_config()
    stricter = dataclasses.replace(cfg, on_track_min=cfg.on_track_min - 1,
                                   points={**cfg.points, "opinion_received": cfg.points["opinion_received"] + 5})
    monkeypatch.setattr(duty, "load_config", lambda *a, **k: stricter)
    counted = []
    real = duty._count_days
    monkeypatch.setattr(duty, "_count_days", lambda *a, **k: counted.append(1) or real(*a, **k))
    memo.clear()
    con = connect(db, read_only=True)
    try:
        duty.rep_period_figures(con, [period], stricter)
    finally:
        con.close()
    assert counted  # the stored counts were for other point rules


def test_a_failed_count_ahead_never_fails_the_import(db, monkeypatch, tmp_path):
    def broken(con):
        raise RuntimeError("boom")
    monkeypatch.setitem(ahead.WARMERS, "broken", broken)
    csv = tmp_path / "a.csv"
    csv.write_text("活动编号,活动日期,镇街,活动类型\nX1,2024-05-01,瓜沥镇,视察\n", encoding="utf-8")
    (r,) = import_files(db, [csv], progress=None)
    assert r.imported == 1
    assert "预先计算未完成" in ahead.warm_quietly(db)
    con = connect(db)
    try:
        assert "预先计算未完成" in ahead.build_quietly(con)
    finally:
        con.close()


def test_an_import_counts_ahead_in_its_copy_before_the_swap(db, monkeypatch, tmp_path):
    """Readers never wait for a write of the counts: they are in the file that is swapped in."""
    def no_write_in_place(*a, **k):
        raise AssertionError("counted ahead by a write in place")
    monkeypatch.setattr(ahead, "warm_quietly", no_write_in_place)
    csv = tmp_path / "a.csv"
    csv.write_text("活动编号,活动日期,镇街,活动类型\nX1,2024-05-01,瓜沥镇,视察\n", encoding="utf-8")
    (r,) = import_files(db, [csv])
    assert r.imported == 1
    con = connect(db, read_only=True)
    try:
        fp = derived.fingerprint(con)
    finally:
        con.close()
    got = rows(db)
    assert got and {f for _, _, f in got} == {fp}


def test_results_stored_by_another_version_of_the_program_are_not_used(db, monkeypatch):
    """The stored keys carry a digest of analytics/*.py and data/*.toml|txt: after an upgrade (or a
    settings change) the first queries count again, until the next import counts ahead."""
    period = latest_quarter(db)
    monkeypatch.setattr(derived, "_CODE", ["another-version"])
    counted = []
    real = duty._count_days
    monkeypatch.setattr(duty, "_count_days", lambda *a, **k: counted.append(1) or real(*a, **k))
    figures(db, period)
    assert counted


def test_a_code_change_in_any_sub_package_changes_the_code_stamp(monkeypatch, tmp_path):
    """The stamp in every stored key covers each layer of analytics/, not only its top folder: a change
    to one line of a module in a sub-package (or deeper) gives other keys, so stored results of the
    old code are never read."""
    root = tmp_path / "tree"
    shutil.copytree(derived.PACKAGE_DIR, root / "analytics", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(derived.DATA_DIR, root / "data", ignore=shutil.ignore_patterns("*.duckdb*", "*.lock"))
    monkeypatch.setattr(derived, "ROOT", root)
    monkeypatch.setattr(derived, "PACKAGE_DIR", root / "analytics")
    monkeypatch.setattr(derived, "DATA_DIR", root / "data")

    def stamp() -> str:
        monkeypatch.setattr(derived, "_CODE", [])
        return derived.code_stamp()

    before = stamp()
    assert stamp() == before  # the same tree, the same stamp
    seen = {before}
    for module in ("domain/duty.py", "store/memo.py", "core/stats.py"):
        path = root / "analytics" / module
        path.write_text(path.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
        now = stamp()
        assert now not in seen, module
        seen.add(now)
    (root / "analytics" / "domain" / "deeper").mkdir()
    (root / "analytics" / "domain" / "deeper" / "x.py").write_text("X = 1\n", encoding="utf-8")
    assert stamp() not in seen
    assert memo.stored_key(("k",)) != derived.settings_key(before, ("k",))


def test_the_suggestions_report_of_the_latest_session_is_read_from_the_store(db, monkeypatch):
    def report(path):
        memo.clear()
        con = connect(path, read_only=True)
        try:
            return suggestions.report(con, suggestions.Scope(session=suggestions.latest_session(con)))
        finally:
            con.close()

    with monkeypatch.context() as m:
        m.setattr(suggestions, "_report", lambda *a, **k: (_ for _ in ()).throw(AssertionError("computed again")))
        stored = report(db)
    with monkeypatch.context() as m:
        without_store(m)
        computed = report(db)
    assert set(stored) == set(computed) and computed["n"] > 0
    for k, v in computed.items():
        if isinstance(v, pd.DataFrame):
            same_frames([stored[k]], [v])
        elif isinstance(v, dict) and v and all(isinstance(x, pd.DataFrame) for x in v.values()):
            same_frames([stored[k][kk] for kk in v], list(v.values()))
        else:
            assert stored[k] == v, k


def test_the_cells_of_every_period_with_data_are_read_from_the_store(db, monkeypatch):
    """Counting ahead keeps every period's cells (one pass per grain): any month, quarter or year of
    any page, and a trend over any range of months, is scored without a pass over the rows."""
    from analytics.domain import metrics

    con = connect(db, read_only=True)
    try:
        months = metrics.periods_with_data(con, "month")
        years = metrics.periods_with_data(con, "year")
        town = indices.compute_indices(con, latest_quarter(db), "town")["unit_id"].iloc[0]
    finally:
        con.close()
    periods = [months[-1], months[len(months) // 2], years[-1], Period("quarter", years[-1].year, 2)]

    def views(con):
        out = [indices.compute_indices(con, p, "station") for p in periods]
        out.append(indices.index_trend(con, town, months[-1], months[0]))
        return out

    with monkeypatch.context() as m:
        no_counting(m)
        stored = fresh_views(db, views)
    with monkeypatch.context() as m:
        without_store(m)
        computed = fresh_views(db, views)
    same_frames(stored, computed)
    assert len(stored[-1]) == len(months)


def test_cells_counted_together_are_the_cells_of_each_period_alone(db, monkeypatch):
    """A trend counts its missing periods in one pass and keeps them one by one: each period's part
    is exactly what counting that period alone gives."""
    from analytics.domain import metrics

    without_store(monkeypatch)
    con = connect(db, read_only=True)
    try:
        cur = con.cursor()
        ctx = indices.index_context(cur, indices.load_config())
        months = sorted(metrics.periods_with_data(con, "month"))[:5]
        together = indices._count_cells(cur, ctx, months)
        for p in months:
            alone = indices._count_cells(cur, ctx, [p]).sort_values(indices._CELL_KEYS).reset_index(drop=True)
            part = together[together["period"] == p.code].sort_values(indices._CELL_KEYS).reset_index(drop=True)
            assert len(alone) > 0
            pd.testing.assert_frame_equal(part, alone)
    finally:
        con.close()


@pytest.mark.parametrize("grain", ["month", "quarter", "year"])
def test_scores_counted_ahead_together_are_the_scores_of_each_period_alone(db, monkeypatch, grain):
    """Counting ahead scores every period of a grain in one pass per level: each period's part is
    exactly what scoring that period alone gives (each is scored among its own peers)."""
    from analytics.domain import metrics

    without_store(monkeypatch)
    con = connect(db, read_only=True)
    try:
        periods = sorted(metrics.periods_with_data(con, grain))
        for level in indices.LEVELS:
            memo.clear()
            cur = con.cursor()
            ctx = indices.index_context(cur, indices.load_config())
            indices._scores_ahead(cur, ctx, level, periods)
            together = [indices.compute_indices(con, p, level) for p in periods]
            memo.clear()
            alone = [indices.compute_indices(con, p, level) for p in periods]
            assert periods and all(len(a) for a in alone)
            same_frames(together, alone)
    finally:
        con.close()


def test_a_names_stored_results_are_read_once_per_store_state(db, monkeypatch):
    """Reading one stored result costs DuckDB as much as reading all of them (the blobs of a vector
    come together), so a process reads all results of a name at once, once per store state — not
    once per result nor again after the LRU of decoded values let one go."""
    calls = []
    real = derived.load_all
    monkeypatch.setattr(derived, "load_all", lambda con, name, fp: calls.append(name) or real(con, name, fp))
    monkeypatch.setattr(memo, "MAX_ENTRIES", 2)  # decoded values are let go at once
    latest = latest_quarter(db)
    con = connect(db, read_only=True)
    try:
        def refuse(*a, **k):
            raise AssertionError("scores counted again although the store holds them")
        with monkeypatch.context() as m:
            m.setattr(indices, "_scored_level", refuse)
            for _ in range(2):
                for q in (1, 2, 3):
                    for level in ("town", "station"):
                        indices.compute_indices(con, Period("quarter", latest.year, q), level)
    finally:
        con.close()
    assert calls.count(indices.SCORES) == 1


def test_counting_ahead_under_another_version_of_the_program_drops_what_the_older_one_stored(db, monkeypatch):
    before = {fp for _, _, fp in rows(db)}
    monkeypatch.setattr(derived, "_CODE", ["another-version"])
    ahead.warm(db)
    after = {fp for _, _, fp in rows(db)}
    assert len(before) == len(after) == 1 and before != after

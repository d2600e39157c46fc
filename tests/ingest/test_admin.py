"""History and undo (docs/data-management.md §3), the rejected rows as the admin sees them, segmentation
at import, and the 数据管理 page through AppTest: upload, preview, a mapping profile, import, undo.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from analytics.ingest import profiles as admin
from analytics.domain import hotwords
from analytics.ingest import importer as ingest
from analytics.store import db as store

ROOT = Path(__file__).resolve().parents[2]
HEADER = "编号,提交时间,来源渠道,镇街,内容,提交人"


def csv(path: Path, rows: list[tuple]) -> Path:
    path.write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


def op(i: str, text: str, town: str = "瓜沥镇", who: str = "张三") -> tuple:
    return (i, "2024-05-0" + i[-1], "民声e", town, text, who)


@pytest.fixture
def con(tmp_path):
    c = store.connect(tmp_path / "t.duckdb")
    yield c
    c.close()


def one(con, sql, params=()):
    return con.execute(sql, list(params)).fetchone()


def words_of(con, opinion_id: str) -> set[str]:
    return {w for (w,) in con.execute("""
        SELECT w.word FROM opinion_seg s JOIN opinion_words ow USING (doc_id) JOIN words w USING (word_id)
        WHERE s.opinion_id = ? AND s.dict_version = (SELECT version FROM dict_versions WHERE active)""",
                                      [opinion_id]).fetchall()}


# ───────────────────────────── undo ─────────────────────────────

def test_undo_of_added_rows_removes_them_and_their_words(con, tmp_path):
    (a,) = ingest.ingest_files(con, [csv(tmp_path / "a.csv", [op("A1", "小区路灯坏了"), op("A2", "河道垃圾堆积")])])
    (b,) = ingest.ingest_files(con, [csv(tmp_path / "b.csv", [op("B1", "菜市场停车难")])])
    assert one(con, "SELECT count(*) FROM opinion_seg")[0] == 3
    before = store.data_version(con)
    report = admin.undo_batch(con, b.batch_id, user="管理员")
    assert report.removed == {"opinions": 1} and report.restored == {}
    assert [r[0] for r in con.execute("SELECT opinion_id FROM opinions ORDER BY 1").fetchall()] == ["A1", "A2"]
    assert one(con, "SELECT count(*) FROM opinion_seg")[0] == 2 and not words_of(con, "B1")
    assert store.data_version(con) != before  # caches of the pages notice
    df = admin.list_batches(con)
    assert df.loc[df.batch_id == b.batch_id, "status"].item().startswith("已撤销（管理员，")
    assert df.loc[df.batch_id == a.batch_id, "status"].item() == "有效"
    assert report.summary() == f"已撤销批次 {b.batch_id}（b.csv）：民情民意删除 1 行"


def test_undo_of_changed_rows_brings_back_the_old_values_and_words(con, tmp_path):
    (a,) = ingest.ingest_files(con, [csv(tmp_path / "a.csv", [op("A1", "小区路灯坏了"), op("A2", "河道垃圾堆积")])])
    old = con.execute("SELECT * FROM opinions WHERE opinion_id = 'A1'").fetchall()
    (b,) = ingest.ingest_files(con, [csv(tmp_path / "b.csv", [op("A1", "菜市场停车难", town="义桥镇", who="李四")])])
    assert b.updated == 1 and "停车难" in words_of(con, "A1")
    report = admin.undo_batch(con, b.batch_id)
    assert report.restored == {"opinions": 1} and report.removed == {}
    # Every column as before the batch, the batch that wrote it and the row hash included.
    assert con.execute("SELECT * FROM opinions WHERE opinion_id = 'A1'").fetchall() == old
    assert one(con, "SELECT batch_id FROM opinions WHERE opinion_id = 'A1'")[0] == a.batch_id
    assert "路灯" in words_of(con, "A1") and "停车难" not in words_of(con, "A1")
    # Importing the undone file again is an update again, not "unchanged".
    (c,) = ingest.ingest_files(con, [tmp_path / "b.csv"])
    assert (c.updated, c.unchanged) == (1, 0)


def test_undo_order_rule(con, tmp_path):
    (a,) = ingest.ingest_files(con, [csv(tmp_path / "a.csv", [op("A1", "小区路灯坏了"), op("A2", "河道垃圾堆积")])])
    (b,) = ingest.ingest_files(con, [csv(tmp_path / "b.csv", [op("A1", "路灯还是不亮"), op("B1", "停车难")])])
    (c,) = ingest.ingest_files(con, [csv(tmp_path / "c.csv", [op("A2", "河道垃圾堆积")])])  # unchanged only
    assert c.unchanged == 1
    with pytest.raises(admin.AdminError) as exc:
        admin.undo_batch(con, a.batch_id)
    msg = str(exc.value)
    assert f"不能撤销批次 {a.batch_id}（a.csv）" in msg and f"之后的批次 {b.batch_id} 又新增或改动了" in msg
    assert "从最新的开始" in msg
    assert one(con, "SELECT count(*) FROM opinions")[0] == 3  # the refusal changed nothing
    # Newest first works; c changed nothing, so it does not block a.
    admin.undo_batch(con, b.batch_id)
    admin.undo_batch(con, a.batch_id)
    assert one(con, "SELECT count(*) FROM opinions")[0] == 0
    with pytest.raises(admin.AdminError, match=f"批次 {a.batch_id}（a.csv）已于 .* 撤销过了"):
        admin.undo_batch(con, a.batch_id)
    with pytest.raises(admin.AdminError, match="批次 999 不存在"):
        admin.undo_batch(con, 999)


def test_undo_keeps_the_batch_and_its_rejected_rows(con, tmp_path):
    (a,) = ingest.ingest_files(con, [csv(tmp_path / "a.csv", [op("A1", "路灯坏了"), op("A2", ""),
                                                               op("A3", "噪声", town="火星镇")])])
    admin.undo_batch(con, a.batch_id)
    df = admin.batch_rejects(con, [a.batch_id])
    assert list(df.columns) == admin.REJECT_COLUMNS
    assert df.iloc[0][["处理", "文件", "行号", "列"]].tolist() == ["拒收", "a.csv", 3, "内容"]
    assert df.iloc[0]["原因"] == "必填项“内容”为空"
    # The unknown town did not reject its row: a warning, listed after the rejections.
    assert df.iloc[1][["处理", "行号", "列"]].tolist() == ["提醒（已入库）", 4, "镇街"]
    assert "“火星镇”不是萧山区的镇街" in df.iloc[1]["原因"]
    # The submitter's name is personal: masked in the raw values the admin sees.
    assert "提交人=张*" in df.iloc[0]["原始内容"] and "张三" not in df.iloc[0]["原始内容"]


def test_rejected_rows_download_neutralises_formulas(con, tmp_path):
    (r,) = ingest.ingest_files(con, [csv(tmp_path / "f.csv", [("=1+1", "昨天", "民声e", "瓜沥镇", "@SUM(A1)", "-张")])])
    df = admin.rejects_frame([r])
    assert df.iloc[0]["文件"] == "f.csv" and df.iloc[0]["列"] == "提交时间"
    wb = load_workbook(io.BytesIO(admin.rejects_xlsx(df)))
    ws = wb.active
    assert [c.value for c in ws[1]] == admin.REJECT_COLUMNS
    values = [c.value for row in ws.iter_rows(min_row=2) for c in row]
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for v in values)
    assert any(isinstance(v, str) and "编号==1+1" in v for v in values)  # there, as text


def test_batches_list_every_batch_with_file_hash_time_who_counts(con, tmp_path):
    ingest.ingest_files(con, [csv(tmp_path / "a.csv", [op("A1", "路灯")])], user="王五")
    df = admin.batches_for_display(admin.list_batches(con))
    assert list(df.columns) == list(admin.BATCH_COLUMNS.values())
    row = df.iloc[0]
    assert row["文件"] == "a.csv" and len(row["SHA-256"]) == 64 and row["操作人"] == "王五"
    assert (row["读取"], row["新增"], row["数据类别"], row["状态"], row["映射方案"]) == (1, 1, "民情民意", "有效", "—")


def test_imports_and_undos_are_audited_with_the_change(tmp_path):
    db = tmp_path / "c.duckdb"
    (r,) = ingest.import_files(db, [csv(tmp_path / "a.csv", [op("A1", "路灯")])], user="王五", role="管理员")
    (bad,) = ingest.import_files(db, [tmp_path / "missing.csv"], user="王五")
    admin.undo_batch_at(db, r.batch_id, user="王五")
    with store.reading(db) as con:
        log = con.execute("SELECT action, actor, role, target, ok, detail FROM audit_log ORDER BY event_id").fetchall()
    assert [(a, who, role, t, ok) for a, who, role, t, ok, _ in log] == [
        ("import", "王五", "管理员", "a.csv", True), ("import", "王五", None, "missing.csv", False),
        ("undo", "王五", None, f"批次 {r.batch_id}（a.csv）", True)]
    assert json.loads(log[0][5])["batch_id"] == r.batch_id and "文件不存在" in json.loads(log[1][5])["error"]


def test_batches_and_undo_on_the_command_line(tmp_path):
    db = tmp_path / "c.duckdb"
    ingest.import_files(db, [csv(tmp_path / "a.csv", [op("A1", "路灯")])], user="王五")
    ingest.import_files(db, [csv(tmp_path / "b.csv", [op("A1", "停车")])])
    run = lambda *a: subprocess.run([sys.executable, "-m", "analytics", *map(str, a), "--db", str(db)], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120)
    r = run("batches", "--json")
    batches = json.loads(r.stdout)["batches"]
    assert [b["batch_id"] for b in batches] == [2, 1] and batches[1]["imported_by"] == "王五"
    assert batches[0]["undone_at"] is None and len(batches[0]["sha256"]) == 64
    r = run("undo", "1")
    assert r.returncode == 2 and "请先撤销这些较晚的批次" in r.stderr
    r = run("undo", "2")
    assert r.returncode == 0 and "民情民意恢复 1 行" in r.stdout
    r = run("batches")
    assert "已撤销" in r.stdout and "a.csv" in r.stdout


# ───────────────────────────── segmentation at import ─────────────────────────────

def test_first_start_ends_with_a_segmented_store(demo_db):
    with store.reading(demo_db) as con:
        assert hotwords.pending_count(con) == 0
        n_op = one(con, "SELECT count(*) FROM opinions")[0]
        assert n_op > 0 and one(con, "SELECT count(*) FROM opinion_seg")[0] == n_op


def test_hotwords_work_right_after_ingest(tmp_path):
    db = tmp_path / "c.duckdb"
    f = csv(tmp_path / "a.csv", [op(f"A{i}", "小区加装电梯进度太慢") for i in range(1, 10)])
    run = lambda *a: subprocess.run([sys.executable, "-m", "analytics", *map(str, a), "--db", str(db)], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120)
    assert run("ingest", f).returncode == 0
    r = run("hotwords", "--json", "--from", "2024-05-01", "--to", "2024-05-31")
    assert r.returncode == 0, r.stderr
    assert "尚未分词" not in r.stderr  # nothing left for the hot-word command to segment
    assert "加装电梯" in {w["word"] for w in json.loads(r.stdout)}


# ───────────────────────────── the page ─────────────────────────────

def _page(db: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at._page_hash = calc_hash("data")  # the browser's request for /data (see tests/pages/test_app.py)
    return at


def _texts(at) -> str:
    return "\n".join(str(e.value) for e in (*at.success, *at.error, *at.warning, *at.info, *at.caption, *at.markdown))


def test_data_page_upload_preview_profile_import_and_undo(tiny_db, tmp_path, monkeypatch):
    db = tmp_path / "cockpit.duckdb"
    shutil.copy(tiny_db, db)
    at = _page(db, monkeypatch).run()
    assert not at.exception and [t.value for t in at.title] == ["数据管理"]
    hotline = ROOT / "tests" / "data" / "admin" / "hotline.xlsx"
    good = csv(tmp_path / "week.csv", [op("W1", "路灯坏了", who="赵六"), op("W2", "噪声扰民")])
    at.file_uploader[0].set_value([("hotline.xlsx", hotline.read_bytes(), "application/vnd.ms-excel"),
                                   ("week.csv", good.read_bytes(), "text/csv")]).run()
    at.button(key="data_preview").click().run()
    assert not at.exception
    text = _texts(at)
    assert "找不到可识别的表头" in text and "可以导入：读取 2 行 → 新增 2" in text
    # The preview shows the rows as stored: absent fields read 未知, names masked.
    shown = next(d.value for d in at.dataframe if "行号" in d.value.columns)
    assert shown["提交人"].tolist() == ["赵*", "张*"] and set(shown["联络站"]) == {"未知"}
    # The mapping editor for the hotline export, with the suggestions filled in.
    picks = {s.label: s.value for s in at.selectbox}
    assert picks["A 列“工单号”"] == "opinion_id" and picks["D 列“所属区域”"] == "town"
    name = next(t for t in at.text_input if t.key and t.key.endswith("_name"))
    name.set_value("12345热线").run()
    next(b for b in at.button if b.label == "保存映射方案").click().run()
    assert not at.exception
    text = _texts(at)
    assert "已保存映射方案“12345热线”" in text and "可以导入：读取 6 行 → 新增 6、更新 0、不变 0、拒收 0" in text
    assert "按映射方案“12345热线”读取" in text
    at.button(key="data_import").click().run()
    for _ in range(60):  # the import runs in a thread; the page polls it
        if any(h.value == "导入结果" for h in at.subheader):
            break
        at.run()
    assert not at.exception
    text = _texts(at)
    assert "hotline.xlsx：读取 6 行 → 新增 6" in text and "week.csv：读取 2 行 → 新增 2" in text
    with store.reading(db) as con:
        batches = admin.list_batches(con)
        assert batches.iloc[0]["file_name"] == "week.csv" and batches.iloc[1]["profile"] == "12345热线"
        assert one(con, "SELECT count(*) FROM opinions WHERE opinion_id LIKE 'GD-%'")[0] == 6
        # the row whose 所属区域 is no town of the district is kept, not located
        assert one(con, "SELECT count(*) FROM opinions WHERE opinion_id LIKE 'GD-%' AND town IS NULL")[0] == 1
    newest = int(batches.iloc[0]["batch_id"])
    # Undo the newest batch: pick, ask, confirm.
    at.selectbox(key="data_undo_pick").set_value(newest).run()
    at.button(key="data_undo").click().run()
    assert "确定撤销批次" in _texts(at)
    at.button(key="data_undo_confirm").click().run()
    assert not at.exception
    assert f"已撤销批次 {newest}（week.csv）：民情民意删除 2 行" in _texts(at)
    with store.reading(db) as con:
        assert one(con, "SELECT count(*) FROM opinions WHERE opinion_id LIKE 'W%'")[0] == 0
        # Both imports and the undo are in the audit log, by the operator named on the page.
        log = con.execute("SELECT action, actor, target FROM audit_log ORDER BY event_id").fetchall()
    assert log[-3:] == [("import", "数据管理员", "hotline.xlsx"), ("import", "数据管理员", "week.csv"),
                        ("undo", "数据管理员", f"批次 {newest}（week.csv）")]


def test_data_page_refuses_an_oversized_upload_before_writing_it(tiny_db, tmp_path, monkeypatch):
    db = tmp_path / "cockpit.duckdb"
    shutil.copy(tiny_db, db)
    limits = tmp_path / "limits.toml"
    limits.write_text((ROOT / "data" / "limits.toml").read_text(encoding="utf-8").replace("max_mb = 100", "max_mb = 0.001"),
                      encoding="utf-8")
    monkeypatch.setenv(admin.LIMITS_ENV, str(limits))
    at = _page(db, monkeypatch).run()
    at.file_uploader[0].set_value(("big.csv", b"x" * 5000, "text/csv")).run()
    assert not at.exception
    assert "超过了单个文件" in _texts(at)
    assert "预览" not in [b.label for b in at.button]  # nothing to preview
    assert not any(Path(tmp).exists() and any(Path(tmp).rglob("big.csv"))
                   for tmp in [at.session_state["_data_dir"]] if "_data_dir" in at.session_state)


def test_data_page_maps_values_and_sets_the_date_order_of_a_profile(tiny_db, tmp_path, monkeypatch):
    """The mapping editor offers what ``profiles suggest`` writes: each unknown 状态 / 镇街 value with
    a suggestion to take or change, and the day/month order for dates no day over 12 decides."""
    db = tmp_path / "cockpit.duckdb"
    shutil.copy(tiny_db, db)
    export = tmp_path / "other.csv"
    export.write_text("工单编号,受理日期,区域,诉求内容,办理状态\n"
                      "X-1,03/04/2024,火星镇,路灯坏了很久没人修,已办理\n"
                      "X-2,05/06/2024,瓜沥镇,小区门口垃圾没人清运,待回复\n", encoding="utf-8")
    at = _page(db, monkeypatch).run()
    at.file_uploader[0].set_value([("other.csv", export.read_bytes(), "text/csv")]).run()
    at.button(key="data_preview").click().run()
    assert not at.exception
    picks = {s.label: s for s in at.selectbox}
    assert picks["“已办理” →"].value == "已办结"  # suggested from the vocabulary
    assert picks["“火星镇” →"].value == ""  # no town of the district is like it: kept as given
    order = next(s for s in at.selectbox if s.key and s.key.endswith("_date_order"))
    assert order.value == ""  # 03/04 and 05/06 decide nothing by themselves
    picks["“火星镇” →"].set_value("瓜沥镇").run()
    next(s for s in at.selectbox if s.key and s.key.endswith("_date_order")).set_value("dmy").run()
    next(t for t in at.text_input if t.key and t.key.endswith("_name")).set_value("外区工单").run()
    next(b for b in at.button if b.label == "保存映射方案").click().run()
    assert not at.exception and "已保存映射方案“外区工单”" in _texts(at)
    with store.reading(db) as con:
        profile = admin.get_profile(con, "外区工单")
    assert profile.date_order == "dmy"
    assert profile.value_map["town"] == {"火星镇": "瓜沥镇"}
    assert profile.value_map["status"]["已办理"] == "已办结"
    report = ingest.import_files(db, [export], user="测试")[0]
    assert (report.imported, report.rejected, report.unlocated) == (2, 0, 0) and report.profiles == ["外区工单"]
    with store.reading(db) as con:
        rows = con.execute("SELECT opinion_id, CAST(submitted_at AS DATE), town FROM opinions "
                           "WHERE opinion_id LIKE 'X-%' ORDER BY 1").fetchall()
    assert [(r[0], str(r[1]), r[2]) for r in rows] == [("X-1", "2024-04-03", "瓜沥镇"), ("X-2", "2024-06-05", "瓜沥镇")]

"""Safety of the store while people use it (docs/data-management.md, "Safe concurrent use"):

(a) the command-line import runs while readers read: no reader sees an error or half a file, and
    readers see the new data once a file is in;
(b) kill -9 of the import at named points: the store is as it was before that file, and the import
    run again completes it with no duplicates;
(c) two imports at once: the second waits, or stops with a clear Chinese message; neither corrupts;
(d) limits: a 200 MB CSV, a sheet that claims a million rows, a zip bomb, too many columns or rows —
    refused (or read) quickly, with bounded memory and a clear message.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from analytics.ingest import profiles as admin
from analytics.domain import hotwords
from analytics.ingest import importer as ingest
from analytics.store import db as store
from analytics.ingest.readers import ReadError

ROOT = Path(__file__).resolve().parents[2]
HEADER = "编号,提交时间,来源渠道,镇街,内容"
TOWNS = ["瓜沥镇", "城厢街道", "北干街道", "义桥镇", "宁围街道"]
TEXTS = ["小区路灯坏了很久没人修", "菜市场周边停车难问题突出", "工地夜间施工噪声扰民", "河道垃圾多气味大",
         "老年食堂希望增加周末供餐", "学校门口接送孩子拥堵"]


def opinions_csv(path: Path, prefix: str, n: int, start: int = 0, text_suffix: str = "") -> Path:
    lines = [HEADER]
    for i in range(start, start + n):
        lines.append(f"{prefix}{i:05d},2024-0{1 + i % 9}-{1 + i % 28:02d} 09:00:00,民声e,{TOWNS[i % 5]},"
                     f"{TEXTS[i % 6]}{text_suffix}（第{i}号）")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(*args, env=None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env=env or os.environ.copy(), timeout=120, **kw)


def fingerprint(db: Path) -> dict:
    """Everything an import touches, summarised: equal fingerprints = the same store."""
    with store.reading(db) as con:
        out = store.table_counts(con)
        for t in ("import_batches", "rejected_rows", "row_history", "opinion_seg", "opinion_words"):
            out[t] = con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        out["opinions_hash"] = con.execute(
            "SELECT coalesce(sum(hash(opinion_id, row_hash)), 0) FROM opinions").fetchone()[0]
        out["pending_segmentation"] = hotwords.pending_count(con)
    return out


@pytest.fixture
def base(tmp_path) -> Path:
    """A store with 200 opinions in it."""
    db = tmp_path / "cockpit.duckdb"
    (r,) = ingest.import_files(db, [opinions_csv(tmp_path / "base.csv", "B", 200)])
    assert r.imported == 200
    return db


def leftovers(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir()
                  if store.SNAPSHOT_INFIX in p.name or store.READER_LINK_INFIX in p.name or p.name.endswith(".wal"))


# ───────────────────────────── (a) readers during an import ─────────────────────────────

READER_SCRIPT = r"""
import json, sys, time
from pathlib import Path
from analytics.store import db as store
db, stop = Path(sys.argv[1]), Path(sys.argv[2])
seen, errors, slowest = {}, [], 0.0
while not stop.exists():
    t0 = time.monotonic()
    try:
        with store.reading(db) as con:
            batches = con.execute("SELECT count(*), coalesce(sum(imported), 0) FROM import_batches").fetchone()
            n_op = con.execute("SELECT count(*) FROM opinions").fetchone()[0]
            n_seg = con.execute("SELECT count(*) FROM opinion_seg").fetchone()[0]
    except Exception as exc:
        errors.append(repr(exc))
        continue
    slowest = max(slowest, time.monotonic() - t0)
    # Whole files only: every opinion belongs to a committed batch and has its words.
    if n_op != batches[1] or n_seg != n_op:
        errors.append(f"half a file: batches {batches}, opinions {n_op}, segmented {n_seg}")
    seen[str(batches[0])] = n_op
    time.sleep(0.005)
print(json.dumps({"seen": seen, "errors": errors, "slowest": slowest}))
"""


def test_readers_in_other_processes_never_fail_during_a_command_line_import(base, tmp_path):
    files = [opinions_csv(tmp_path / f"week{k}.csv", f"W{k}", 1000) for k in range(4)]
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER_SCRIPT, str(base), str(stop)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        time.sleep(1.5)  # the readers are reading
        t0 = time.monotonic()
        r = cli("ingest", *files, "--db", base, "--json")
        import_s = time.monotonic() - t0
        assert r.returncode == 0, r.stderr
        time.sleep(0.5)
    finally:
        stop.touch()
        outs = [p.communicate(timeout=60) for p in readers]
    for p, (out, err) in zip(readers, outs):
        assert p.returncode == 0, err
        result = json.loads(out)
        assert result["errors"] == [], result["errors"][:5]
        # They saw the store before, after, and (it takes a while) in between the files.
        assert result["seen"]["1"] == 200 and result["seen"]["5"] == 4200, result["seen"]
        assert result["slowest"] < 5, result
    print(f"import of 4 × 1,000 opinions with 2 reader processes: {import_s:.1f} s")
    assert fingerprint(base)["opinions"] == 4200


def test_readers_in_the_same_process_see_the_new_file_at_once(base, tmp_path):
    """The app's case: imports and readers in one process. DuckDB keeps one instance per path and
    process, so a reader opened before the swap pins the old file under the store's path; later
    readers open the new file through a hard link of their own at once (no convoy behind a long
    reader), and the link goes when its last reader closes."""
    held = store.open_reader(base)  # a page still reading the old file
    assert held.execute("SELECT count(*) FROM opinions").fetchone()[0] == 200
    (report,) = ingest.import_files(base, [opinions_csv(tmp_path / "new.csv", "N", 50)])
    assert report.imported == 50
    t0 = time.monotonic()
    a = store.open_reader(base)
    b = store.open_reader(base)
    assert time.monotonic() - t0 < 1.0
    assert [c.execute("SELECT count(*) FROM opinions").fetchone()[0] for c in (a, b)] == [250, 250]
    assert held.execute("SELECT count(*) FROM opinions").fetchone()[0] == 200  # it still reads a whole store
    links = [n for n in leftovers(base) if store.READER_LINK_INFIX in n]
    assert len(links) == 1  # one link for the new file, shared
    store.close_reader(base, a)
    assert [n for n in leftovers(base) if store.READER_LINK_INFIX in n] == links  # b still reads through it
    store.close_reader(base, b)
    store.close_reader(base, held)
    assert leftovers(base) == []
    with store.reading(base) as con:  # and the store's own path has the new file again
        assert con.execute("SELECT count(*) FROM opinions").fetchone()[0] == 250


def test_without_hard_links_later_readers_wait_for_the_old_file(base, tmp_path, monkeypatch):
    def no_links(*a, **k):
        raise PermissionError("no hard links here")
    monkeypatch.setattr(store.os, "link", no_links)
    store._GATES.pop(str(base.resolve()), None)
    held = store.open_reader(base)
    (report,) = ingest.import_files(base, [opinions_csv(tmp_path / "new.csv", "N", 50)])
    assert report.imported == 50
    got, waited = [], []

    def later_reader():
        t0 = time.monotonic()
        with store.reading(base) as con:
            waited.append(time.monotonic() - t0)
            got.append(con.execute("SELECT count(*) FROM opinions").fetchone()[0])

    t = threading.Thread(target=later_reader)
    t.start()
    time.sleep(0.5)
    assert got == []  # waiting for the old file's reader to finish
    assert held.execute("SELECT count(*) FROM opinions").fetchone()[0] == 200
    store.close_reader(base, held)
    t.join(10)
    assert got == [250] and waited[0] >= 0.4


def test_threads_reading_while_a_thread_imports(base, tmp_path):
    files = [opinions_csv(tmp_path / f"t{k}.csv", f"T{k}", 800) for k in range(3)]
    stop = threading.Event()
    errors, seen = [], set()

    def read_loop():
        while not stop.is_set():
            try:
                with store.reading(base) as con:
                    nb, total = con.execute("SELECT count(*), sum(imported) FROM import_batches").fetchone()
                    n = con.execute("SELECT count(*) FROM opinions").fetchone()[0]
                if n != total:
                    errors.append((nb, total, n))
                seen.add(nb)
            except Exception as exc:  # any error a page would show
                errors.append(repr(exc))

    threads = [threading.Thread(target=read_loop) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        reports = ingest.import_files(base, files)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert [r.imported for r in reports] == [800, 800, 800]
    assert errors == []
    with store.reading(base) as con:  # a reader after the import sees all of it
        assert con.execute("SELECT count(*) FROM opinions").fetchone()[0] == 2600
    assert leftovers(base) == []


def test_a_short_page_write_waits_for_readers_and_they_for_it(base):
    """store.writing (candidate pool, profiles) on the live file: this process's readers are held off
    while it writes and come back after, without an error."""
    with store.reading(base) as con:
        before = con.execute("SELECT count(*) FROM profiles").fetchone()[0]
    results = []

    def reader():
        with store.reading(base) as con:
            results.append(con.execute("SELECT count(*) FROM profiles").fetchone()[0])

    with store.writing(base, what="测试") as con:
        t = threading.Thread(target=reader)
        t.start()
        time.sleep(0.3)
        assert results == []  # held off while the write is open
        con.execute("INSERT INTO profiles (name, kind, signature, headers, mapping, fixed, created_by, created_at) VALUES ('p', 'opinions', 'sig', '[]', '{}', '{}', 'me', now()::TIMESTAMP)")
    t.join(10)
    assert results == [before + 1]


# ───────────────────────────── (b) kill -9 at named points ─────────────────────────────

KILL_POINTS = ["after_copy", "after_parse", "mid_write", "before_commit", "after_commit", "before_publish",
               "after_publish"]


def _run_until(point: str, args: list, timeout: float = 60) -> subprocess.Popen:
    env = dict(os.environ, **{store.TEST_HOOK_ENV: f"{point}:pause"})
    proc = subprocess.Popen([sys.executable, "-m", "analytics", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        if line.strip() == f"TEST_HOOK {point}":
            return proc
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise AssertionError(f"the import never reached {point}: {proc.communicate()}")


@pytest.fixture(scope="module")
def clean_import(tmp_path_factory) -> dict:
    """The store the kill tests must end with: base, first and second imported with nothing in the way."""
    d = tmp_path_factory.mktemp("clean")
    files = [opinions_csv(d / "base.csv", "B", 200), opinions_csv(d / "first.csv", "K", 300),
             opinions_csv(d / "second.csv", "B", 100, text_suffix="（已更新）")]
    ingest.import_files(d / "clean.duckdb", files)
    return fingerprint(d / "clean.duckdb")


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_leaves_the_store_as_before_the_file_and_a_rerun_completes_it(base, tmp_path, point, clean_import):
    first = opinions_csv(tmp_path / "first.csv", "K", 300)
    second = opinions_csv(tmp_path / "second.csv", "B", 100, text_suffix="（已更新）")  # updates 100 rows
    ingest.import_files(base, [first])
    before = fingerprint(base)

    proc = _run_until(point, ["ingest", second, "--db", base])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    after_kill = fingerprint(base)
    if point == "after_publish":  # the file was in before the kill
        assert after_kill["import_batches"] == before["import_batches"] + 1
        assert after_kill["opinions_hash"] != before["opinions_hash"]
    else:
        assert after_kill == before

    (again,) = ingest.import_files(base, [second])  # the same import, run again
    done = fingerprint(base)
    if point == "after_publish":
        assert (again.updated, again.unchanged) == (0, 100)
    else:
        assert (again.imported, again.updated, again.unchanged) == (0, 100, 0)
    assert done["opinions"] == 500 and done["pending_segmentation"] == 0
    assert done["opinion_seg"] == done["opinions"]  # words for every opinion, none twice
    # The same as importing the files once with nothing in the way:
    expected = clean_import
    extra = 1 if point == "after_publish" else 0  # the rerun's own batch (all unchanged)
    assert done["opinions_hash"] == expected["opinions_hash"]
    assert done["import_batches"] == expected["import_batches"] + extra
    assert leftovers(base) == []


def test_kill_of_an_undo_leaves_the_batch_in_effect(base, tmp_path):
    ingest.import_files(base, [opinions_csv(tmp_path / "x.csv", "X", 30)])
    before = fingerprint(base)
    proc = _run_until("before_publish", ["undo", "2", "--db", base])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert fingerprint(base) == before
    r = cli("undo", "2", "--db", base)
    assert r.returncode == 0, r.stderr
    assert fingerprint(base)["opinions"] == 200


# ───────────────────────────── (c) two imports at once ─────────────────────────────

def test_second_import_stops_with_a_clear_message_when_it_cannot_wait(base, tmp_path):
    holder = _run_until("after_parse", ["ingest", opinions_csv(tmp_path / "a.csv", "A", 100), "--db", base,
                                        "--user", "张管理"])
    try:
        t0 = time.monotonic()
        r = cli("ingest", opinions_csv(tmp_path / "b.csv", "C", 100), "--db", base, "--wait", "1")
        assert time.monotonic() - t0 < 15
        assert r.returncode == 3
        assert "正在被写入" in r.stderr and "导入 1 个文件（a.csv）" in r.stderr and "张管理" in r.stderr
        assert "没有改动任何数据" in r.stderr
    finally:
        holder.kill()
        holder.wait(10)
    assert fingerprint(base)["opinions"] == 200


def test_second_import_waits_for_the_first_and_both_complete(base, tmp_path):
    env = dict(os.environ, **{store.TEST_HOOK_ENV: "after_parse:sleep=2"})
    first = subprocess.Popen([sys.executable, "-m", "analytics", "ingest", str(opinions_csv(tmp_path / "a.csv", "A", 100)),
                              "--db", str(base), "--json"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    for line in first.stderr:  # the first holds the store now
        if "TEST_HOOK after_parse" in line:
            break
    second = cli("ingest", opinions_csv(tmp_path / "b.csv", "C", 100), "--db", base, "--wait", "60", "--json")
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 0, (err, second.stderr)
    b1 = json.loads(out)["files"][0]["batch_id"]
    b2 = json.loads(second.stdout)["files"][0]["batch_id"]
    assert b2 > b1  # the second went after the first
    fp = fingerprint(base)
    assert fp["opinions"] == 400 and fp["opinion_seg"] == 400


def test_two_threads_importing_at_once(base, tmp_path):
    files = [opinions_csv(tmp_path / f"p{k}.csv", f"P{k}", 300) for k in range(2)]
    results, errors = [], []

    def run(f):
        try:
            results.extend(ingest.import_files(base, [f]))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sorted(r.imported for r in results) == [300, 300]
    assert fingerprint(base)["opinions"] == 800


def test_busy_message_names_the_holder_in_process(tmp_path):
    db = tmp_path / "s.duckdb"
    store.connect(db).close()
    with store.writer_lock(db, what="导入 测试.csv", user="李四"):
        done = []

        def other():
            try:
                with store.writer_lock(db, timeout=0.3):
                    done.append("got it")
            except store.StoreBusy as exc:
                done.append(str(exc))

        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    assert "导入 测试.csv" in done[0] and "李四" in done[0] and "请稍后再试" in done[0]


# ───────────────────────────── (d) limits ─────────────────────────────

def test_a_200_mb_csv_is_refused_without_being_read(tmp_path):
    big = tmp_path / "民情民意_全年.csv"
    with big.open("wb") as fh:
        fh.write((HEADER + "\n").encode())
        fh.truncate(200 * (1 << 20))  # sparse: 200 MB on paper, nothing on disk
    t0 = time.monotonic()
    with pytest.raises(ReadError, match=r"200\.0 MB.*100\.0 MB 的上限.*max_mb"):
        ingest.read_table(big)
    assert time.monotonic() - t0 < 1.0
    db = tmp_path / "s.duckdb"
    (report,) = ingest.import_files(db, [big])
    assert "超过了单个文件" in report.error and report.batch_id is None


def _patch_sheet(src: Path, dst: Path, change) -> Path:
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for item in zi.infolist():
            data = zi.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            zo.writestr(item, data)
    return dst


@pytest.fixture
def small_xlsx(tmp_path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "提交时间", "镇街", "内容"])
    for i in range(3):
        ws.append([f"A{i}", f"2024-01-0{i + 1}", "瓜沥镇", "路灯坏了"])
    wb.save(tmp_path / "small.xlsx")
    return tmp_path / "small.xlsx"


def _measured(fn):
    tracemalloc.start()
    t0 = time.monotonic()
    try:
        result = fn()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, time.monotonic() - t0, peak


@pytest.mark.parametrize("claim", ["dimension", "last_row", "tall_merge"])
def test_a_sheet_claiming_a_million_rows_costs_nothing_per_claimed_row(small_xlsx, tmp_path, claim):
    change = {
        "dimension": lambda d: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:Z1000000"', d),
        "last_row": lambda d: d.replace(b"</sheetData>", b'<row r="1048576"><c r="B1048576" s="0"/></row></sheetData>'),
        "tall_merge": lambda d: d.replace(b"</sheetData>", b'</sheetData><mergeCells count="1">'
                                          b'<mergeCell ref="C2:C1048576"/></mergeCells>'),
    }[claim]
    f = _patch_sheet(small_xlsx, tmp_path / f"{claim}.xlsx", change)
    sheets, seconds, peak = _measured(lambda: ingest.read_table(f))
    assert [s.rows_read for s in sheets] == [3]
    assert seconds < 2 and peak < 20 * (1 << 20), (seconds, peak)


def test_a_row_number_beyond_excel_is_refused(small_xlsx, tmp_path):
    f = _patch_sheet(small_xlsx, tmp_path / "forged.xlsx",
                     lambda d: d.replace(b"</sheetData>", b'<row r="999999999"><c r="A999999999"><v>1</v></c></row></sheetData>'))
    t0 = time.monotonic()
    with pytest.raises(ReadError, match="行号 999,999,999 超出了 Excel 的最大行数"):
        ingest.read_table(f)
    assert time.monotonic() - t0 < 2


def _bomb(path: Path, mb: int) -> Path:
    """A zip of ``mb`` MB of zeros (about 1,000 : 1), named like a workbook."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook><sheets><sheet name='a' r:id='rId1'/></sheets></workbook>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b"\0" * (1 << 20)
            for _ in range(mb):
                fh.write(block)
    return path


def test_a_zip_bomb_renamed_xlsx_is_refused_from_its_directory(tmp_path):
    bomb = _bomb(tmp_path / "民情民意.xlsx", 64)
    assert bomb.stat().st_size < 2 * (1 << 20)
    report, seconds, peak = _measured(lambda: ingest.import_files(tmp_path / "s.duckdb", [bomb])[0])
    assert "压缩比高达" in report.error and "压缩炸弹" in report.error and "max_ratio" in report.error
    assert seconds < 1 and peak < 10 * (1 << 20)


def test_the_unpacked_size_limit_applies_whatever_the_ratio(tmp_path, monkeypatch):
    limits = tmp_path / "limits.toml"
    text = (ROOT / "data" / "limits.toml").read_text(encoding="utf-8")
    limits.write_text(text.replace("max_unpacked_mb = 1000", "max_unpacked_mb = 8")
                      .replace("max_ratio = 100", "max_ratio = 100000"), encoding="utf-8")
    monkeypatch.setenv(admin.LIMITS_ENV, str(limits))
    with pytest.raises(ReadError, match=r"解压后有 .*超过了 8\.0 MB 的上限"):
        ingest.read_table(_bomb(tmp_path / "b.xlsx", 16))


def test_too_many_columns_and_too_many_rows_are_refused_with_the_setting_named(tmp_path, monkeypatch):
    wide = tmp_path / "wide.csv"
    wide.write_text(HEADER + "," * 300 + "\n" + "A1,2024-01-01,民声e,瓜沥镇,内容" + "," * 250 + "多余\n",
                    encoding="utf-8")
    with pytest.raises(ReadError, match=r"第 2 行在第 200 列之后还有内容.*max_columns"):
        ingest.read_table(wide)
    # A workbook with a styled empty cell far to the right is fine (formatting is not content).
    limits = tmp_path / "limits.toml"
    limits.write_text((ROOT / "data" / "limits.toml").read_text(encoding="utf-8")
                      .replace("max_rows = 500000", "max_rows = 5"), encoding="utf-8")
    monkeypatch.setenv(admin.LIMITS_ENV, str(limits))
    db = tmp_path / "s.duckdb"
    (report,) = ingest.import_files(db, [opinions_csv(tmp_path / "ten.csv", "R", 10)])
    assert "超过 5 行的上限" in report.error and "max_rows" in report.error
    assert not db.exists()  # nothing was stored: not even an empty store was made


def test_styled_empty_cells_far_right_do_not_widen_rows(small_xlsx, tmp_path):
    f = _patch_sheet(small_xlsx, tmp_path / "styled.xlsx",
                     lambda d: d.replace(b'</c></row>', b'</c><c r="XFD2" s="0"/></row>', 1))
    (sheet,) = ingest.read_table(f)
    assert sheet.rows_read == 3


@pytest.mark.parametrize("text,message", [
    ("[file]\nmax_mb = -1\n", "[file] max_mb 应大于 0"),
    ("[file]\nmax_mb = '大'\n", "应是数字"),
    ("[files]\nmax_mb = 1\n", "不认识的小节 [files]"),
    ("[sheet]\nmax_rowz = 1\n", "不认识的设置 max_rowz"),
    ("[sheet]\nmax_rows = 1.5\n", "应是整数"),
    ("[file]\nmax_mb = 1\n", "缺少 [sheet] max_rows"),
    ("[file\n", "不是合法的 TOML"),
])
def test_a_wrong_limits_file_is_said_in_chinese(tmp_path, monkeypatch, text, message):
    p = tmp_path / "limits.toml"
    p.write_text(text, encoding="utf-8")
    monkeypatch.setenv(admin.LIMITS_ENV, str(p))
    with pytest.raises(admin.LimitsError, match=re.escape(message)):
        admin.load_limits()
    with pytest.raises(admin.LimitsError):  # the importer says the same before reading anything
        ingest.read_table(opinions_csv(tmp_path / "x.csv", "X", 2))


def test_the_command_line_stops_on_a_wrong_limits_file(tmp_path):
    p = tmp_path / "limits.toml"
    p.write_text("[file]\nmax_mb = 0\n", encoding="utf-8")
    r = cli("ingest", opinions_csv(tmp_path / "x.csv", "X", 2), "--db", tmp_path / "s.duckdb",
            env=dict(os.environ, **{admin.LIMITS_ENV: str(p)}))
    assert r.returncode == 2 and "导入限制文件" in r.stderr and "[file] max_mb 应大于 0" in r.stderr
    assert not (tmp_path / "s.duckdb").exists()


def test_every_limit_is_documented():
    doc = (ROOT / "docs" / "data-management.md").read_text(encoding="utf-8")
    for section, keys in admin._LIMIT_KEYS.items():
        for key in keys:
            assert f"[{section}] {key}" in doc, f"docs/data-management.md 没有写到 [{section}] {key}"
    admin.load_limits(ROOT / "data" / "limits.toml")  # the shipped file is valid


def test_a_killed_imports_copy_is_removed_at_the_next_start_with_a_log_line(tmp_path, caplog):
    db = tmp_path / "s.duckdb"
    store.connect(db).close()
    left = tmp_path / f"s.duckdb{store.SNAPSHOT_INFIX}4242-1"
    left.write_bytes(b"\0" * 2**20)  # what a kill -9 mid-import leaves
    assert store.clear_leftovers(db) == 2**20
    assert not left.exists()
    assert any("已删除中断的写入留下的副本" in r.getMessage() and left.name in r.getMessage() for r in caplog.records)
    # while a writer runs, its copy is left alone
    left.write_bytes(b"\0")
    with store.writer_lock(db, what="测试"):
        import threading

        got = []
        t = threading.Thread(target=lambda: got.append(store.clear_leftovers(db)))
        t.start()
        t.join(10)
    assert got == [0] and left.exists()


def test_an_import_waiting_for_another_writer_says_so(tmp_path):
    import threading

    from analytics.ingest.importer import import_files

    db = tmp_path / "s.duckdb"
    store.connect(db).close()
    f = tmp_path / "a.csv"
    f.write_text("编号,提交时间,镇街,内容\nA1,2024-05-01,瓜沥镇,路灯\n", encoding="utf-8")
    messages, started = [], threading.Event()

    def hold():
        with store.writer_lock(db, what="撤销批次 7", user="张管理"):
            started.set()
            time.sleep(1.5)

    t = threading.Thread(target=hold)
    t.start()
    started.wait(5)
    (r,) = import_files(db, [f], progress=lambda done, total, msg: messages.append(msg), wait=30)
    t.join()
    assert r.imported == 1
    assert messages[0].startswith("正在等待另一个写入结束：撤销批次 7（张管理") and "最多等待 30 秒" in messages[0]

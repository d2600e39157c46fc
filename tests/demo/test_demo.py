"""Demo data: files that follow the contract, carry the quirks real exports have, hold the planted
patterns (quality differences, surges, personal data), and are byte-identical for one seed."""
from __future__ import annotations

import csv
import hashlib
import io
import re
import statistics
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from openpyxl import load_workbook

from analytics.demo import exports as demo
from analytics.core.contract import load_contract, norm_header
from analytics.core.privacy import mask_text

SMALL = dict(seed=0, years=1, scale=0.05)
KIND_BY_PREFIX = {"基层单元": "units", "代表名册": "reps", "民情民意": "opinions", "代表建议": "suggestions",
                  "履职活动": "activities"}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _kind(path: Path) -> str:
    return KIND_BY_PREFIX[path.stem.split("_")[0]]


def _decode(path: Path) -> tuple[str, str]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gbk"), "gbk"


def _rows(path: Path) -> list[list]:
    """All rows of a file as lists of values (xlsx: the first sheet)."""
    if path.suffix == ".csv":
        return [list(r) for r in csv.reader(io.StringIO(_decode(path)[0], newline=""))]
    wb = load_workbook(path, read_only=True)
    try:
        return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
    finally:
        wb.close()


def _table(path: Path) -> tuple[list[str], list[dict]]:
    """Header (as field names) and data rows as {field: value}; title rows above and 合计 rows
    below are skipped the way the importer is told to skip them."""
    hmap = load_contract().header_map(_kind(path))
    rows = _rows(path)
    for i, row in enumerate(rows):
        if i and None in row:  # a two-level header: sub-headers below, merged headers above
            row = [c if c not in (None, "") else (rows[i - 1][j] if j < len(rows[i - 1]) else None)
                   for j, c in enumerate(row)]
        mapped = [hmap.get(norm_header(c)) for c in row if c not in (None, "")]
        if len(mapped) >= 3 and all(mapped) and len(mapped) == len(row):
            fields = [hmap[norm_header(c)] for c in row]
            pad = [None] * len(fields)  # read-only xlsx rows may stop at their last value
            data = [dict(zip(fields, [*r, *pad])) for r in rows[i + 1:]
                    if r and str(r[0] or "").strip() not in ("合计", "总计", "")]
            return fields, data
    raise AssertionError(f"{path.name}: no header row maps to the contract")


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> list[Path]:
    return demo.write_demo(tmp_path_factory.mktemp("demo_a"), **SMALL)


@pytest.fixture(scope="module")
def tables(small_set) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for p in small_set:
        if p.name.endswith("Q4.xlsx"):
            continue  # a copy of the last quarter, checked on its own
        out.setdefault(_kind(p), []).extend(_table(p)[1])
    return out


@pytest.fixture(scope="module")
def world() -> demo.World:
    return demo.build_world(0)


# ── determinism ───────────────────────────────────────────────────────────────

def test_same_seed_gives_byte_identical_files(small_set, tmp_path):
    again = demo.write_demo(tmp_path / "b", **SMALL)
    assert [p.name for p in again] == [p.name for p in small_set]
    for a, b in zip(small_set, again):
        assert _sha(a) == _sha(b), f"{a.name} differs between two runs with the same seed"


def test_another_seed_gives_other_data(small_set, tmp_path):
    other = demo.write_demo(tmp_path / "c", seed=1, years=1, scale=0.05)
    differing = [a.name for a, b in zip(small_set, other) if _sha(a) != _sha(b)]
    assert len(differing) >= len(small_set) - 1  # the unit list may coincide; the data may not


def test_xlsx_carry_fixed_timestamps(small_set):
    for p in small_set:
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as zf:
                assert {i.date_time for i in zf.infolist()} == {demo.ZIP_DATE_TIME}
                core = zf.read("docProps/core.xml").decode()
                assert "2024-12-31T00:00:00Z" in core and core.count("2024-12-31T00:00:00Z") == 2


def test_parallel_writer_gives_the_same_bytes(tmp_path, monkeypatch):
    serial = demo.write_demo(tmp_path / "serial", seed=3, years=1, scale=0.05)
    monkeypatch.setattr(demo, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(demo, "XLSX_ROW_LIMIT", 0)  # the parallel path is csv-only
    parallel = demo.write_demo(tmp_path / "parallel", seed=3, years=1, scale=0.05)
    csvs = {p.name: _sha(p) for p in serial if p.name.startswith("民情民意") and p.suffix == ".csv"}
    assert csvs and csvs == {p.name: _sha(p) for p in parallel if p.name.startswith("民情民意")}


def test_big_tables_are_written_as_csv(tmp_path, monkeypatch):
    """At benchmark scales xlsx would take minutes: large tables become csv with the same content."""
    from analytics.ingest.importer import ingest_files
    from analytics.store.db import connect

    monkeypatch.setattr(demo, "XLSX_ROW_LIMIT", 5)
    paths = demo.write_demo(tmp_path / "out", seed=0, years=1, scale=0.02)
    names = {p.name for p in paths}
    assert {"代表建议_2024.csv", "履职活动.csv", "代表名册.csv"} <= names and "基层单元.xlsx" not in names
    con = connect(tmp_path / "big.duckdb")
    try:
        reports = ingest_files(con, paths)
    finally:
        con.close()
    assert all(r.error is None and r.rejected == 0 and r.rows_read > 0 for r in reports)


def test_fast_csv_lines_equal_csv_writer():
    rows = [["MQ1", "2024-01-06 09:32:09", "您好，路灯坏了。"], ["MQ2", "a,b", 'say "hi"'], ["MQ3", "两行\n文字", ""],
            ["MQ4", "", "\r"]]
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    assert demo._csv_text(rows) == buf.getvalue()


def test_one_year_is_the_last_year_of_two(small_set, tmp_path):
    """Each month has its own generator: --years does not change the months both sets share."""
    two = demo.write_demo(tmp_path, seed=0, years=2, scale=SMALL["scale"])

    def second_half(path: Path) -> list[list]:
        return [r for r in _rows(path) if r and str(r[0]).startswith(("MQ202407", "MQ202412"))]

    one_year = second_half(next(p for p in small_set if p.name == "民情民意_2024下半年.csv"))
    two_years = second_half(next(p for p in two if p.name == "民情民意_2024.csv"))
    assert one_year and one_year == two_years


# ── the contract and the quirks ───────────────────────────────────────────────

def test_every_header_maps_to_the_contract(small_set):
    contract = load_contract()
    for p in small_set:
        fields, data = _table(p)
        kind = contract.kinds[_kind(p)]
        required = {f.name for f in kind.fields if f.required}
        assert required <= set(fields), f"{p.name}: missing {required - set(fields)}"
        assert len(set(fields)) == len(fields), f"{p.name}: two columns map to one field"
        assert data, f"{p.name}: no data rows"


def test_values_are_in_the_vocabularies(tables):
    contract = load_contract()
    for kind_name, rows in tables.items():
        for f in contract.kinds[kind_name].fields:
            if f.type not in ("enum", "town"):
                continue
            vocab = f.vocab or "town"
            for row in rows:
                v = row.get(f.name)
                if v not in (None, ""):
                    assert contract.lookup(vocab, str(v)) is not None, f"{kind_name}.{f.name}: {v!r}"


def test_real_export_quirks_are_present(small_set):
    by_name = {p.name: p for p in small_set}
    encodings = Counter(_decode(p)[1] for p in small_set if p.suffix == ".csv")
    assert encodings["gbk"] >= 1 and encodings["utf-8-sig"] >= 1
    # A merged title cell above the header, and a trailing 合计 row.
    wb = load_workbook(by_name["基层单元.xlsx"])
    assert "A1:E1" in {str(r) for r in wb.active.merged_cells.ranges}
    q4 = _rows(by_name["民情民意_2024Q4.xlsx"])
    assert "汇总表" in str(q4[0][0]) and q4[-1][0] == "合计"
    # Alias headers (反映时间), alias values (甲/乙/丙), several date formats in one column.
    gbk = next(p for p in small_set if p.suffix == ".csv" and _decode(p)[1] == "gbk")
    header = _rows(gbk)[0]
    assert "反映时间" in header and "提交时间" not in header
    times = [r[header.index("反映时间")] for r in _rows(gbk)[1:]]
    shapes = {re.sub(r"\d+", "9", t) for t in times}
    assert {"9/9/9 9:9:9", "9-9-9 9:9", "9年9月9日 9:9", "9-9-9 9:9:9"} <= shapes
    merged = {str(r) for r in load_workbook(by_name["代表建议_2024.xlsx"]).active.merged_cells.ranges}
    assert {"A1:S1", "M2:S2", "A2:A3"} <= merged  # title, group header over sub-headers, header merged down
    classes = {r.get("answer_class") for r in _table(by_name["代表建议_2024.xlsx"])[1]}
    assert {"甲", "乙"} <= classes and "A" not in classes
    # Full-width spaces and tabs around some texts.
    contents = [r["content"] for r in _table(by_name["民情民意_2024下半年.csv"])[1]]
    assert any(c.startswith("\u3000") for c in contents) and any(c.endswith("\t") for c in contents)


def test_units_are_the_real_1_23_64(tables):
    units = tables["units"]
    contract = load_contract()
    levels = Counter(contract.lookup("unit_level", u["level"]) for u in units)
    assert levels == {"总站": 1, "镇街": 23, "联络站": 64}
    towns = {u["name"] for u in units if contract.lookup("unit_level", u["level"]) == "镇街"}
    assert towns == set(contract.towns)
    stations = [u for u in units if u["level"] == "联络站"]
    names = {u["name"] for u in stations}
    assert {"宁围宁新代表联络站", "盈丰里·亚运村代表联络站", "临浦镇横一村代表联络站"} <= names
    per_town = Counter(u["parent"] for u in stations)
    assert set(per_town) == towns and all(1 <= n <= 5 for n in per_town.values())
    assert all(u["name"].endswith("代表联络站") for u in stations)
    pops = [u["population"] for u in units if u["name"] in towns]
    assert all(50_000 <= p <= 250_000 for p in pops)
    assert any(u["population"] in (None, "") for u in stations)


def test_roster(tables, world):
    reps = tables["reps"]
    assert len(reps) == demo.N_REPS
    names = [r["name"] for r in reps]
    assert len(set(names)) == len(names) and all(2 <= len(n) <= 3 for n in names)
    levels = Counter(load_contract().lookup("rep_level", r["rep_level"]) for r in reps)
    assert levels["区"] + levels["镇"] > 0.85 * len(reps) and levels["全国"] >= 1
    stations = {s.name: s.town for s in world.stations}
    assert all(stations[r["station"]] == r["town"] for r in reps)


# ── volumes, texts, personal data ─────────────────────────────────────────────

def test_volumes_follow_the_scale(tables):
    scale = SMALL["scale"]
    assert demo.OPINIONS_PER_YEAR * scale * 0.85 < len(tables["opinions"]) < demo.OPINIONS_PER_YEAR * scale * 1.15
    n_sugg = (demo.SUGGESTIONS_PER_SESSION + demo.CLOSED_SUGGESTIONS_PER_YEAR) * scale
    assert n_sugg * 0.7 < len(tables["suggestions"]) < n_sugg * 1.3
    town_level = [a for a in tables["activities"] if not a.get("station")]
    # the towns' calendars plus each town's monthly programme (视察, 调研, 主题活动)
    n_town = (demo.TOWN_ACTIVITIES_PER_YEAR + demo.TOWN_PROGRAMME_PER_YEAR * len(load_contract().towns)) * scale
    assert n_town * 0.6 < len(town_level) < n_town * 1.4
    gen = demo._OpinionGen(demo.build_world(0), 0.2)
    assert 3.5 < len(gen.month_rows(2024, 3)) / len(demo._OpinionGen(demo.build_world(0), 0.05).month_rows(2024, 3)) < 4.5


def test_opinion_texts_are_varied_natural_and_sized(tables):
    contents = [r["content"].strip() for r in tables["opinions"]]
    assert all(60 <= len(c) <= 300 for c in contents)
    assert len(set(contents)) > 0.97 * len(contents)
    text = "".join(contents)
    assert "，" in text and "。" in text and "您好" in text and "谢谢" in text
    assert len({r["title"].strip() for r in tables["opinions"]}) > 0.3 * len(contents)


def test_some_texts_carry_personal_data(tables):
    contents = [r["content"] for r in tables["opinions"]]
    masked = [mask_text(c) for c in contents]
    hits = Counter(m for c, mk in zip(contents, masked) if c != mk for m in re.findall(r"\[[^\]]+\]", mk))
    share = sum(c != m for c, m in zip(contents, masked)) / len(contents)
    assert 0.05 < share < 0.16
    assert hits["[手机号]"] > 0 and hits["[身份证号]"] + hits["[车牌号]"] + hits["[电话]"] > 0


def test_activities_cover_every_type_and_participants(tables):
    contract = load_contract()
    types = {contract.lookup("activity_type", a["type"]) for a in tables["activities"]}
    # At small scale rare types may be missing; at scale 1 every type appears each year.
    assert len(types) >= 8
    for a in tables["activities"]:
        names = re.split(r"[、;]", a["participants"])
        assert int(a["headcount"]) == len(names)
    seps = "".join(a["participants"] for a in tables["activities"])
    assert "、" in seps and ";" in seps


def test_every_activity_type_at_full_scale(world):
    types = Counter(row[4] for m in range(1, 13) for row in demo._activity_rows(world, 2024, m, 1.0))
    assert set(types) == set(load_contract().canon["activity_type"])
    participations = sum(row[7] for m in range(1, 13) for row in demo._activity_rows(world, 2024, m, 1.0))
    assert 9_000 < participations < 15_000


def test_suggestion_lifecycle(world):
    rows = demo._suggestion_rows(world, 2023, 1.0)
    h = demo.SUGGESTION_HEADER
    col = {name: i for i, name in enumerate(h)}
    answered = [r for r in rows if r[col["答复时间"]]]
    classes = Counter(r[col["答复类别"]] for r in answered)
    assert 0.55 < classes["A"] / len(answered) < 0.75 and classes["C"] > 0
    late = [r for r in answered if r[col["答复时间"]] > r[col["答复期限"]]]
    overdue = [r for r in rows if r[col["答复期限"]] and not r[col["答复时间"]]]
    assert late and overdue
    assert any(r[col["二次答复时间"]] for r in rows if r[col["答复类别"]] == "B")
    sup = Counter(r[col["督办方式"]] for r in rows if r[col["提出类型"]] == "大会期间")
    assert sup["常委会重点督办"] < sup["主任会议成员牵头督办"] < sup["各委办对口督办"]
    for r in rows:
        if r[col["交办时间"]]:
            assert r[col["答复期限"]] == demo._add_months(r[col["交办时间"]], 3)
    assert demo.session_name(2023) == "区十八届人大三次会议" and demo.session_name(2024) == "区十八届人大四次会议"


# ── planted patterns ──────────────────────────────────────────────────────────

def _year_of_opinions(world, year: int, scale: float = 0.25) -> list[list]:
    gen = demo._OpinionGen(world, scale)
    return [row for m in range(1, 13) for row in gen.month_rows(year, m)]


def _month(t: int) -> int:
    return demo._ymd(t // 86400)[1]


def _monthly(rows: list[list], word: str, town: str | None = None) -> Counter:
    return Counter(_month(r[1]) for r in rows if word in r[6] and (town is None or r[3] == town))


def test_planted_surges(world):
    y24 = _year_of_opinions(world, 2024)
    water = _monthly(y24, "积水")
    others = statistics.mean(water[m] for m in range(1, 13) if m not in (6, 7))
    assert min(water[6], water[7]) > 3 * others  # the plum rains
    lift = _monthly(y24, "电梯", demo.LIFT_SURGE_TOWN)
    assert min(lift[3], lift[4]) > 4 * statistics.mean(lift[m] for m in (1, 2, 6, 7, 8, 9, 10, 11, 12))
    meals = _monthly(y24, "助餐")
    assert sum(meals[m] for m in (10, 11, 12)) > 1.8 * sum(meals[m] for m in (1, 2, 3))
    school = _monthly(y24, "学位")
    assert school[4] > 2.5 * statistics.mean(school[m] for m in (10, 11, 12))
    noise = Counter(_month(r[1]) for r in y24 if "噪声" in r[6] and r[3] in demo.NOISE_SURGE_TOWNS)
    assert sum(noise[m] for m in (4, 5, 6)) > 2.5 * sum(noise[m] for m in (1, 2, 3))
    games = _monthly(_year_of_opinions(world, 2023), "亚运")
    assert sum(games[m] for m in (9, 10, 11)) > 4 * sum(games[m] for m in (1, 2, 3))


def test_towns_differ_in_how_well_they_work(world):
    rows = _year_of_opinions(world, 2024, 0.3)
    by_q = sorted(world.towns, key=lambda t: t.quality)
    worst, best = {t.name for t in by_q[:5]}, {t.name for t in by_q[-5:]}

    def stats(names):
        closed = [r for r in rows if r[3] in names and r[14] is not None and r[13] is not None]
        days = statistics.mean((r[14] - r[13]) / 86400 for r in closed)
        happy = sum(r[15] == "满意" for r in closed) / len(closed)
        return days, happy

    (d_best, s_best), (d_worst, s_worst) = stats(best), stats(worst)
    assert d_best < 0.75 * d_worst and s_best > s_worst + 0.05
    assert max(t.quality for t in world.towns) - min(t.quality for t in world.towns) > 0.4


def test_sparse_stations_have_little_data(tables, world):
    per_station = Counter(r[4] for r in _year_of_opinions(world, 2024, 0.3))
    median = statistics.median(per_station[s.name] for s in world.stations)
    for name in demo.SPARSE_STATIONS:
        assert per_station[name] < 0.1 * median


# ── entry points ──────────────────────────────────────────────────────────────

def test_cli_writes_the_set(tmp_path, capsys):
    from analytics.__main__ import main

    assert main(["demo", "--out", str(tmp_path), "--years", "1", "--scale", "0.02", "--seed", "5"]) == 0
    out = capsys.readouterr().out
    assert "民情民意" in out and len(list(tmp_path.iterdir())) >= 8
    assert main(["demo", "--out", str(tmp_path), "--years", "0"]) == 2
    assert "年数" in capsys.readouterr().err


def test_progress_is_reported_and_ends_at_one(tmp_path):
    seen: list[tuple[str, float]] = []
    demo.write_demo(tmp_path, seed=0, years=1, scale=0.02, progress=lambda m, f: seen.append((m, f)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(seen) > 10


def test_the_importer_takes_every_row(small_set, tmp_path):
    from analytics.ingest.importer import ingest_files
    from analytics.store.db import connect

    con = connect(tmp_path / "demo.duckdb")
    try:
        first = ingest_files(con, small_set)
        for r in first:
            assert r.error is None, f"{r.file}: {r.error}"
            assert r.rejected == 0, f"{r.file}: {[tuple(x) for x in r.rejects[:3]]}"
            assert r.rows_read > 0
        q4 = next(r for r in first if r.file.endswith("Q4.xlsx"))
        assert q4.unchanged == q4.rows_read  # the same rows as in the year's csv
        again = ingest_files(con, small_set)
        assert all(r.unchanged == r.rows_read for r in again)
        n = con.execute("SELECT count(*) FROM opinions").fetchone()[0]
        assert n == sum(r.rows_read for r in first if r.kind == "opinions" and not r.file.endswith("Q4.xlsx"))
    finally:
        con.close()

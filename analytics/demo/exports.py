"""Demo data: realistic export files for the five kinds, written the way the platforms write them.

``python -m analytics demo [--seed N] [--years Y] [--scale S] --out DIR`` and ``write_demo(...)``
write .xlsx and .csv files that follow ``data/contract.toml`` — with the quirks real exports have
(title rows, a merged title cell, a trailing 合计 row, a GBK csv, a UTF-8-with-BOM csv, header
aliases, value aliases such as 甲/乙/丙, several date formats in one column, full-width spaces and
tabs around text, personal data inside free text).

Files written (years=2, scale 1; Y = each year, L = the last year, 2024):
- 基层单元.xlsx — 1 + 23 + 64 units, merged title cell, 层级 spelt 街道/镇/开发区;
- 代表名册.xlsx — 400 representatives, alias headers (代表姓名, 代表级别) and values (区人大代表);
- 代表建议_Y.xlsx — ~350 session + ~110 闭会期间 suggestions a year; older years with dates as
  text and A/B/C; the last year with alias headers, 甲/乙/丙, a two-level header and a 合计 row;
- 履职活动.xlsx (up to June of L) and 履职活动_L下半年.csv (alias headers and values, 2024.7.5 dates);
- 民情民意_Y.csv — ~22,000 opinions a year: the last file UTF-8 with BOM and a title row, the one
  before it GBK with the old platform's headers, value spellings and mixed date formats (with one
  year: two half-year files); 民情民意_LQ4.xlsx repeats the last quarter (title row, 合计 row).
Tables beyond ``XLSX_ROW_LIMIT`` rows are written as csv instead (benchmark scales).

What is planted, so that the views have something true to find:
- every town and station has a hidden quality in [0, 1] drawn from the seed: better units hold
  more activities, bring more of their representatives along, close opinions faster, satisfy more
  people and answer suggestions on time;
- towns and stations keep a calendar, as real ones do: each month every town holds a 视察, a 调研
  and a 主题活动 and every station an 活动日 of study (学习培训 and 法治讲座 in turn); the district
  sets the same months for all towns for 列席会议, 执法检查, 专题询问 and 听庭 (``TOWN_COMMON``); their other
  activities come at a steady pace (``_scheduled``), not by a Poisson draw, their types in turn, and
  the representatives are asked by rota (``_Rota``), 进站接待 two or three at a time. So a
  town's index moves from month to month by a few points (bench/demo_realism.py measures it: about
  three quarters of the monthly changes within ±15 points, the composite's 97 %), not from 2 to 98;
- most representatives keep to their duties; about one in eight (``LAGGING_REPS``) often stays
  away when asked, so with those of the sparse and of the weakest stations about a third are behind
  on 十必做 at the year's end (151 of 400), not three in four;
- four stations (``SPARSE_STATIONS``) have almost no data, for 样本不足;
- surges in citizens' concerns (see ``_topic_time_factor``): 道路积水 in the plum-rain months
  June–July, 噪声 near construction in 宁围/盈丰/新街 in 2024Q2, 亚运场馆 in 2023H2, 居家养老助餐
  rising through 2024, 加装电梯 in 北干街道 in March–April 2024, 学位 every spring;
- about 10 % of opinion texts carry a phone number, landline, ID card number or plate number.
No row is deliberately invalid: the whole set imports with nothing rejected.

Determinism: only ``random.Random`` instances seeded from (seed, purpose) are used; units and
representatives do not depend on ``--years``/``--scale``, and each month of opinions has its own
generator, so a one-year set is the last year of a two-year set. xlsx files are rewritten with
fixed zip timestamps and document properties, so the same seed gives byte-identical files.
"""
from __future__ import annotations

import bisect
from collections import Counter
import csv
import io
import math
import os
import random
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator

from openpyxl import Workbook

from analytics.demo import text as T

LAST_YEAR = 2024  # the demo always ends on 2024-12-31, the year of the work report
DATA_END = datetime(LAST_YEAR + 1, 1, 1)  # the exports were taken at the end of the last year
MAX_YEARS = 10

OPINIONS_PER_YEAR = 22_000  # the report: 21,921 opinions handled online in one year
SUGGESTIONS_PER_SESSION = 350
CLOSED_SUGGESTIONS_PER_YEAR = 110  # 闭会期间 suggestions, through the year
TOWN_ACTIVITIES_PER_YEAR = 400  # the report: 397 town-level activities, 11,994 participations
STATION_ACTIVITIES_PER_MONTH = 2.5  # mean per station and month at quality 0.6, besides the monthly 活动日
N_REPS = 400
# An xlsx export is written while it has at most this many rows (openpyxl writes ~4,000 rows/s
# here); beyond it (benchmark scales) the same table is written as csv. Opinions are csv anyway,
# streamed month by month; their last quarter is also an xlsx while it is this small.
XLSX_ROW_LIMIT = 12_000

# Stations with almost no data (never the three stations the report names).
SPARSE_STATIONS = ("岩上村代表联络站", "尖山下村代表联络站", "东沙村代表联络站", "山末址村代表联络站")
SPARSE_FACTOR = 0.03
LAGGING_REPS = 0.12  # share of representatives who often miss activities (十必做 reminders)
DILIGENCE_POWER = 2  # how strongly diligence decides who takes part when not everyone comes

# Fixed timestamps written into xlsx files instead of "now", for byte-identical output.
ZIP_DATE_TIME = (2024, 12, 31, 0, 0, 0)
DOC_TIME = datetime(2024, 12, 31, 0, 0, 0)

ProgressFn = Callable[[str, float], None]


# ───────────────────────────── the world: units, quality, representatives ─────────────────────────────
@dataclass
class Station:
    unit_id: str
    name: str
    town: str
    village: str
    population: int | None
    quality: float
    sparse: bool
    reps: list[str] = field(default_factory=list)  # names


@dataclass
class Town:
    unit_id: str
    name: str
    short: str
    urban: bool
    population: int
    quality: float
    stations: list[Station]
    roads: list[str]
    rivers: list[str]
    compounds: list[str]
    villages: list[str]
    schools: list[str]
    markets: list[str]
    reps: list[str] = field(default_factory=list)
    gov: str = ""


@dataclass
class Rep:
    rep_id: str
    name: str
    level: str
    town: str
    station: str | None
    sector: str


@dataclass
class World:
    seed: int
    towns: list[Town]
    reps: list[Rep]
    # How reliably each representative (by name) turns up, in (0, 1]: most keep to their duties,
    # a minority lag (what 十必做 reminders are for). From its own generator: the roster is unchanged.
    diligence: dict[str, float] = field(default_factory=dict)

    @property
    def stations(self) -> list[Station]:
        return [s for t in self.towns for s in t.stations]

    def town(self, name: str) -> Town:
        return next(t for t in self.towns if t.name == name)


def _rng(seed: int, *parts: object) -> random.Random:
    # A string seed is hashed with SHA-512 by random.seed: stable across runs and machines.
    return random.Random(":".join(["demo", str(seed), *map(str, parts)]))


def _short(town: str) -> str:
    if town == "萧山经济技术开发区":
        return "开发区"
    for suffix in ("街道", "镇"):
        if town.endswith(suffix):
            return town[: -len(suffix)]
    return town


_SURNAMES, _GIVEN_1, _GIVEN_2 = T.SURNAMES, T.GIVEN_1, T.GIVEN_2
_NS, _NG1, _NG2 = len(T.SURNAMES), len(T.GIVEN_1), len(T.GIVEN_2)


def _person_name(u: Callable[[], float]) -> str:
    """A plausible Chinese name: a common surname and one or two given characters."""
    s = _SURNAMES[int(u() * _NS)]
    v = u()
    if v < 0.38:
        return s + _GIVEN_1[int(u() * _NG1)]
    if v < 0.6:
        return s + _GIVEN_2[int(u() * _NG2)]
    return s + _GIVEN_1[int(u() * _NG1)] + _GIVEN_1[int(u() * _NG1)]


def build_world(seed: int = 0) -> World:
    """Units with their hidden quality, and the roster; independent of years and scale."""
    r = _rng(seed, "world")
    towns: list[Town] = []
    used_compounds: set[str] = set()
    for ti, (name, info) in enumerate(T.TOWNS.items(), start=1):
        # Quality: a skewed draw so that a few towns lead and a few lag clearly.
        quality = round(0.15 + 0.8 * r.betavariate(2.0, 1.6), 3)
        population = min(250_000, max(50_000, int(round(info["pop"] * r.uniform(0.95, 1.05), -2))))
        stations = []
        for si, (sname, village) in enumerate(info["stations"], start=1):
            sparse = sname in SPARSE_STATIONS
            sq = min(0.98, max(0.05, quality + r.gauss(0, 0.12)))
            spop = None if r.random() < 0.3 else int(round(r.uniform(3000, 28000), -2))
            stations.append(Station(f"XS{ti:02d}{si:02d}", sname, name, village, spop, round(sq, 3), sparse))
        short = _short(name)
        compounds = []
        while len(compounds) < 8:
            c = r.choice(T.XQ_PREFIX) + r.choice(T.XQ_SUFFIX)
            if info["urban"] or r.random() < 0.5:
                c = c if r.random() < 0.7 else short + c
            else:
                c = r.choice([s.village for s in stations]).rstrip("村社区") + "农居点" if r.random() < 0.5 else c
            if c not in used_compounds:
                used_compounds.add(c)
                compounds.append(c)
        villages = [s.village for s in stations]
        schools = [f"{short}第一小学", f"{short}中心小学", f"{short}第二幼儿园", f"{short}初级中学",
                   f"{info['roads'][0]}小学"]
        markets = [f"{short}农贸市场", f"{villages[0].rstrip('村社区')}菜场", f"{info['roads'][-1]}菜市场"]
        gov = f"{name}人民政府" if name.endswith("镇") else (f"{name}办事处" if name.endswith("街道") else "开发区管委会")
        towns.append(Town(f"XS{ti:02d}", name, short, info["urban"], population, quality, stations,
                          list(info["roads"]), list(info["rivers"]), compounds, villages, schools, markets, gov=gov))

    # Roster: ~400 unique names; most are district (区) or town (镇) representatives.
    reps: list[Rep] = []
    seen: set[str] = set()
    weights = [t.population ** 0.5 for t in towns]
    cum = _cum(weights)
    levels = [("区", 0.56), ("镇", 0.37), ("市", 0.045), ("省", 0.018), ("全国", 0.007)]
    level_cum = _cum([w for _, w in levels])
    sector_w = _cum([0.14, 0.16, 0.2, 0.2, 0.18, 0.02, 0.04, 0.03, 0.03])
    # Every station gets at least three representatives; the rest go by town size.
    slots = [(t, s) for t in towns for s in t.stations for _ in range(3)]
    while len(slots) < N_REPS:
        t = towns[bisect.bisect(cum, r.random() * cum[-1])]
        slots.append((t, r.choice(t.stations)))
    for i, (t, s) in enumerate(slots, start=1):
        name = _person_name(r.random)
        while name in seen:
            name = _person_name(r.random)
        seen.add(name)
        level = levels[bisect.bisect(level_cum, r.random() * level_cum[-1])][0]
        sector = T.SECTORS[bisect.bisect(sector_w, r.random() * sector_w[-1])]
        reps.append(Rep(f"RD{i:04d}", name, level, t.name, s.name, sector))
        t.reps.append(name)
        s.reps.append(name)
    reps.sort(key=lambda p: (p.town, p.station or "", p.rep_id))
    rd = _rng(seed, "diligence")
    diligence = {p.name: (round(0.15 + 0.35 * rd.random(), 3) if rd.random() < LAGGING_REPS
                          else round(0.9 + 0.1 * rd.random(), 3)) for p in reps}
    return World(seed, towns, reps, diligence)


def _cum(weights: Iterable[float]) -> list[float]:
    out, acc = [], 0.0
    for w in weights:
        acc += w
        out.append(acc)
    return out


# ───────────────────────────── deterministic xlsx ─────────────────────────────
def _new_workbook() -> Workbook:
    wb = Workbook(write_only=True)
    wb.properties.creator = "萧山区人大代表联络总站"
    wb.properties.created = DOC_TIME
    return wb


_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def _save_workbook(wb: Workbook, path: Path) -> None:
    """Save, then rewrite the zip with fixed timestamps: openpyxl stamps 'now' into both."""
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    fixed = DOC_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(rb"\g<1>" + fixed + rb"\g<2>", data)
            zi = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, data)


def _sheet(wb: Workbook, title: str, header: list[str], rows: Iterable[list], *, title_row: str | None = None,
           total_row: list | None = None, group: tuple[str, int, int] | None = None) -> int:
    """Append a sheet: optional merged title row, header, rows, optional trailing 合计 row.

    ``group = (label, first, last)`` (1-based columns) writes a two-level header: the label merged
    across those columns above their own headers, every other header merged down both rows.
    """
    ws = wb.create_sheet(title)
    top = 1
    if title_row:
        ws.append([title_row])
        ws.merged_cells.add(f"A1:{_col_letter(len(header))}1")
        top = 2
    if group is None:
        ws.append(header)
    else:
        label, first, last = group
        upper, lower = [], []
        for c, h in enumerate(header, start=1):
            inside = first <= c <= last
            upper.append(label if c == first else None if inside else h)
            lower.append(h if inside else None)
            if not inside:
                ws.merged_cells.add(f"{_col_letter(c)}{top}:{_col_letter(c)}{top + 1}")
        ws.merged_cells.add(f"{_col_letter(first)}{top}:{_col_letter(last)}{top}")
        ws.append(upper)
        ws.append(lower)
    n = 0
    for row in rows:
        ws.append(row)
        n += 1
    if total_row is not None:
        ws.append(total_row)
    return n


def _csv_value(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, date):
        return v.isoformat()
    return v


def _write_table(out: Path, stem: str, header: list[str], rows: list[list], *, title_row: str | None = None,
                 total_row: list | None = None, group: tuple[str, int, int] | None = None) -> tuple[Path, int]:
    """An xlsx export while it is small enough to write quickly; beyond ``XLSX_ROW_LIMIT`` rows
    (benchmark scales) the same table as a UTF-8 csv, title and 合计 rows included."""
    if len(rows) <= XLSX_ROW_LIMIT:
        wb = _new_workbook()
        n = _sheet(wb, stem.split("_")[0], header, rows, title_row=title_row, total_row=total_row, group=group)
        path = out / f"{stem}.xlsx"
        _save_workbook(wb, path)
        return path, n
    path = out / f"{stem}.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        if title_row:
            w.writerow([title_row])
        w.writerow(header)
        w.writerows([_csv_value(v) for v in row] for row in rows)
        if total_row:
            w.writerow([_csv_value(v) for v in total_row])
    return path, len(rows)


def _col_letter(n: int) -> str:
    s = ""
    while n:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


# ───────────────────────────── units and roster ─────────────────────────────
def _write_units(world: World, out: Path) -> tuple[Path, int]:
    header = ["单元编号", "单元名称", "层级", "上级单元", "常住人口（人）"]
    rows = [["XS00", T.HQ_NAME, "区代表联络总站", None, None]]
    for t in world.towns:
        level = "开发区" if t.name == "萧山经济技术开发区" else ("街道" if t.name.endswith("街道") else "镇")
        rows.append([t.unit_id, t.name, level, T.HQ_NAME, t.population])
    for t in world.towns:
        for s in t.stations:
            rows.append([s.unit_id, s.name, "联络站", t.name, s.population])
    return _write_table(out, "基层单元", header, rows, title_row="萧山区人大基层单元名录（1+23+64）")


def _write_reps(world: World, out: Path) -> tuple[Path, int]:
    header = ["代表编号", "代表姓名", "代表级别", "所属镇街（开发区）", "进站联络站", "界别"]
    level_spelling = {"全国": "全国人大代表", "省": "省人大代表", "市": "市人大代表", "区": "区人大代表", "镇": "镇人大代表"}
    rows = [[p.rep_id, p.name, level_spelling[p.level], p.town, p.station, p.sector] for p in world.reps]
    return _write_table(out, "代表名册", header, rows)


# ───────────────────────────── text composition ─────────────────────────────
_MOBILE_PREFIX = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
                  "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186", "187", "188",
                  "189", "199"]
_PLATE_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _mobile(r: Callable[[], float]) -> str:
    return _MOBILE_PREFIX[int(r() * len(_MOBILE_PREFIX))] + f"{int(r() * 1e8):08d}"


def _id_card(r: Callable[[], float]) -> str:
    """A valid-looking 18-digit resident ID (Xiaoshan region code, real check digit)."""
    region = ("330109", "330181", "330106", "330183")[int(r() * 4)]
    born = date(1950, 1, 1) + timedelta(days=int(r() * 18_600))
    body = f"{region}{born:%Y%m%d}{int(r() * 1000):03d}"
    return body + _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS)) % 11]


def _plate(r: Callable[[], float]) -> str:
    """浙A·3K5Q8: mostly digits, some letters (never I or O), the dot sometimes left out."""
    chars = "".join(str(int(r() * 10)) if r() < 0.7 else _PLATE_CHARS[int(r() * 24)] for _ in range(5))
    return "浙A" + ("·" if r() < 0.6 else "") + chars


class _Slots(dict):
    """Slot values for one row, drawn on first use so a title and its text name the same place."""

    __slots__ = ("town", "r", "station")

    def __missing__(self, key: str) -> str:
        attr = _TOWN_LISTS.get(key)
        if attr is not None:  # the common case, kept to one call: a pick from the town's own list
            seq = getattr(self.town, attr)
            value = seq[int(self.r() * len(seq))]
        else:
            value = _SLOT_MAKERS[key](self)
        self[key] = value
        return value


_TOWN_LISTS = {"xq": "compounds", "village": "villages", "river": "rivers", "school": "schools", "market": "markets"}


def _pick(seq, r):
    return seq[int(r() * len(seq))]


def _split_mobile(s: _Slots) -> str:
    m, r = _mobile(s.r), s.r
    u = r()
    if u < 0.6:
        return m
    if u < 0.8:
        return f"{m[:3]} {m[3:7]} {m[7:]}"
    if u < 0.9:
        return f"{m[:3]}\n{m[3:]}"
    return f"{m[:7]}\n{m[7:]}"


def _road2(s: _Slots) -> str:
    roads = [x for x in s.town.roads if x != s["road"]] or T.DISTRICT_ROADS
    return _pick(roads, s.r)


def _road(s: _Slots) -> str:
    if s.town.urban and s.r() < 0.2:
        return _pick(T.DISTRICT_ROADS, s.r)
    return _pick(s.town.roads, s.r)


# Slots other than the town's own lists (_TOWN_LISTS).
_SLOT_MAKERS: dict[str, Callable[[_Slots], str]] = {
    "town": lambda s: s.town.name,
    "short": lambda s: s.town.short,
    "station": lambda s: s.station or s.town.stations[0].name,
    "villager": lambda s: s["village"] + ("的村民" if s["village"].endswith("村") else "的居民"),
    "hh": lambda s: str(int(20 + s.r() * 300)),
    "n2": lambda s: _pick(("两", "三", "四", "好几"), s.r),
    "season": lambda s: _pick(T.SEASONS, s.r),
    "weekday": lambda s: _pick(T.WEEKDAYS, s.r),
    "surname": lambda s: _pick(T.SURNAMES, s.r),
    "road": _road,
    "road2": _road2,
    "venue": lambda s: _pick(T.VENUES, s.r),
    "bus": lambda s: f"{int(200 + s.r() * 600)}路",
    "metro": lambda s: _pick(T.METRO, s.r),
    "dur": lambda s: _pick(T.DURATIONS, s.r),
    "k": lambda s: _pick(T.COUNTS_K, s.r),
    "n": lambda s: str(int(10 + s.r() * 25)),
    "time": lambda s: _pick(T.TIMES, s.r),
    "age": lambda s: _pick(T.AGES, s.r),
    "concern": lambda s: _pick(_CONCERNS, s.r),
    "mobile": _split_mobile,
    "landline": lambda s: f"0571-8{int(s.r() * 1e7):07d}",
    "idcard": lambda s: _id_card(s.r),
    "plate": lambda s: _plate(s.r),
}
_CONCERNS = ["城区南部基础设施配套", "支小路打通", "噪声污染防治", "居家养老助餐服务", "老旧小区改造", "回迁安置",
             "亚运场馆赛后利用", "村级集体经济发展", "停车难", "学位供给", "河道整治", "垃圾分类", "加装电梯",
             "农贸市场提升", "公交线路优化", "城市排涝", "充电设施建设", "物业管理"]


PII_RATE = 0.10  # share of opinion texts that carry a phone, ID card or plate number


def _contact(topic: dict, r) -> str:
    """A sentence with personal data, of the kind the topic's messages tend to carry."""
    kind, v = topic.get("pii"), r()
    if kind == "plate" and v < 0.5:
        pool = T.PLATE_CONTACTS
    elif kind == "id" and v < 0.45:
        pool = T.ID_CONTACTS
    else:
        pool = T.PHONE_CONTACTS
    return pool[int(r() * len(pool))]


_GREETINGS, _INTROS, _DETAILS = tuple(T.GREETINGS), tuple(T.INTROS), tuple(T.DETAILS)
_URGENCY, _CLOSINGS = tuple(T.URGENCY), tuple(T.CLOSINGS)


def _opinion_text(topic: dict, s: _Slots) -> tuple[str, str]:
    """Title and content of one opinion (content 60–300 characters), composed from the topic's pools."""
    r = s.r
    titles, problems, impacts, asks = topic["titles"], topic["problems"], topic["impacts"], topic["asks"]
    title = titles[int(r() * len(titles))].format_map(s)
    if r() < 0.12 and not title.startswith(("关于", "建议", "希望")):
        title = f"关于{title}的问题"
    long = r() < 0.3  # about a third of people write at length
    parts: list[str] = []
    add = parts.append
    if r() < 0.45:
        add(_GREETINGS[int(r() * len(_GREETINGS))])
    if r() < (0.8 if long else 0.45):
        add(_INTROS[int(r() * len(_INTROS))])
    np_ = len(problems)
    i = int(r() * np_)
    add(problems[i])
    if long or r() < 0.35:
        add(problems[(i + 1 + int(r() * (np_ - 1))) % np_])
    if long and r() < 0.7:
        add(_DETAILS[int(r() * len(_DETAILS))])
    if r() < (0.9 if long else 0.55):
        add(impacts[int(r() * len(impacts))])
    if r() < (0.6 if long else 0.3):
        add(_URGENCY[int(r() * len(_URGENCY))])
    j = int(r() * len(asks))
    ask_at = len(parts)
    add(asks[j])
    if long and r() < 0.5:
        add(asks[(j + 1) % len(asks)])
    if r() < PII_RATE:
        add(_contact(topic, r))
    if r() < 0.55:
        add(_CLOSINGS[int(r() * len(_CLOSINGS))])
    texts = [p.format_map(s) if "{" in p else p for p in parts]
    text = "".join(texts)
    if len(text) < 60:  # too short for a real message: say more before asking
        texts[ask_at:ask_at] = [impacts[int(r() * len(impacts))].format_map(s),
                                _URGENCY[int(r() * len(_URGENCY))].format_map(s)]
        text = "".join(texts)
        if len(text) < 60:
            texts.insert(ask_at + 2, "希望有关部门尽快研究解决，给群众一个答复。")
            text = "".join(texts)
    u = r()
    if u < 0.06:  # some people press Enter after every sentence
        text = "\n".join(texts)
    if len(text) > 300:
        text = text[:298].rstrip("，、：\n") + "。"
    if u < 0.11:  # paragraph indent with full-width spaces, tab padding: what real exports carry
        text = "\u3000\u3000" + text
    elif u < 0.14:
        text = text + "\t"
    elif u < 0.16:
        text = " " + text + "\u3000"
    if u > 0.97:
        title = "\t" + title
    return title, text


# ───────────────────────────── opinions ─────────────────────────────
MONTH_SHAPE = {1: 1.0, 2: 0.75, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.15, 7: 1.15, 8: 1.05, 9: 1.0, 10: 0.9, 11: 1.0, 12: 0.95}
CHANNELS = (("民声e", 0.72), ("进站接待", 0.12), ("走访", 0.07), ("座谈", 0.04), ("其他", 0.05))
HOUR_W_ONLINE = [0.3, 0.15, 0.1, 0.1, 0.1, 0.3, 0.8, 1.5, 3, 4.5, 4.5, 3.5, 2.2, 2.5, 3.5, 3.8, 3.5, 2.8, 2, 2.5, 3,
                 2.8, 1.8, 0.8]
HOUR_W_OFFICE = [0] * 8 + [2, 4, 4, 2, 0.5, 2, 4, 3.5, 2, 0.5] + [0] * 6
TOPIC_BASE = {"城区南部基础设施": 0.5, "支小路打通": 0.8, "噪声污染": 1.0, "居家养老助餐": 0.8, "老旧小区改造": 0.8,
              "回迁安置": 0.6, "亚运场馆利用": 0.5, "村级集体经济": 0.6, "停车难": 1.4, "学位": 0.8, "河道整治": 0.8,
              "垃圾分类": 1.0, "加装电梯": 0.5, "农贸市场": 0.6, "公交线路": 0.9, "道路积水": 0.8, "充电桩": 0.7,
              "物业管理": 1.2, "医疗服务": 0.6, "就业社保": 0.5}
NOISE_SURGE_TOWNS = ("宁围街道", "盈丰街道", "新街街道")  # subway and expressway works, 2024Q2
LIFT_SURGE_TOWN = "北干街道"  # a wave of lift applications, March–April 2024


def _topic_time_factor(topic: str, town: str, y: int, m: int) -> float:
    """How much more (or less) a concern is raised in a month: the planted seasonal and local surges."""
    if topic == "道路积水":  # 梅雨 in June–July, typhoons in September
        return {5: 1.3, 6: 4.0, 7: 3.2, 8: 1.4, 9: 1.8}.get(m, 0.55)
    if topic == "噪声污染":
        return 6.0 if (y == 2024 and m in (4, 5, 6) and town in NOISE_SURGE_TOWNS) else 1.0
    if topic == "亚运场馆利用":  # the Asian Games: 23 Sept – 8 Oct 2023
        if y == 2023 and m >= 7:
            return {7: 2.5, 8: 3.5, 9: 5.0, 10: 6.0, 11: 5.0, 12: 4.0}[m]
        if y == 2024:
            return 1.6 - 0.06 * m
        return 0.4
    if topic == "居家养老助餐":
        return 1.0 + 2.5 * (m - 1) / 11 if y == 2024 else 1.0
    if topic == "加装电梯":
        return 12.0 if (y == 2024 and m in (3, 4) and town == LIFT_SURGE_TOWN) else 1.0
    if topic == "学位":  # enrolment every spring
        return {3: 2.5, 4: 3.5, 5: 2.8, 6: 1.6, 7: 1.2, 8: 1.5}.get(m, 0.6)
    if topic == "充电桩":
        return 0.6 + 0.9 * min(1.0, max(0.0, ((y - 2020) * 12 + m) / 60))
    if topic == "河道整治":
        return 1.6 if 6 <= m <= 9 else 0.9
    if topic == "公交线路":
        return 1.4 if m == 9 else 1.0
    if topic == "农贸市场":
        return 1.3 if m in (1, 2) else 1.0
    if topic == "城区南部基础设施":
        return 1.3 if y == 2024 else 1.0
    return 1.0


@dataclass
class _OpinionFile:
    path: Path
    months: list[tuple[int, int]]
    encoding: str  # "gbk", "utf-8-sig", "utf-8"
    style: str  # "alias" (old platform: alias headers and values, mixed dates) | "standard"
    title: str | None = None


OPINION_FIELDS = ["opinion_id", "submitted_at", "channel", "town", "station", "title", "content", "category",
                  "submitter", "phone", "reception_rep", "status", "handler", "assigned_at", "closed_at",
                  "satisfaction"]
STANDARD_OPINION_HEADER = ["编号", "提交时间", "来源渠道", "镇街", "联络站", "标题", "内容", "分类", "提交人", "联系电话",
                           "接待代表", "状态", "承办单位", "交办时间", "办结时间", "满意度"]
# The old platform's export: its own column order and header spellings (all accepted aliases).
ALIAS_OPINION_COLUMNS = [("opinion_id", "工单编号"), ("submitted_at", "反映时间"), ("town", "所属镇街"),
                         ("station", "代表联络站"), ("submitter", "反映人"), ("phone", "联系方式"),
                         ("title", "留言主题"), ("content", "留言内容"), ("category", "问题分类"),
                         ("channel", "反映渠道"), ("reception_rep", "接待代表"), ("status", "办理状态"),
                         ("handler", "承办单位"), ("assigned_at", "转办时间"), ("closed_at", "办结时间"),
                         ("satisfaction", "群众评价")]
ALIAS_VALUES = {
    2: {"民声e": "民声E", "进站接待": "站内接待", "走访": "入户走访", "座谈": "座谈会", "其他": "其它"},
    11: {"已办结": "已完成", "办理中": "处理中", "待受理": "待处理", "不予受理": "退回"},
    15: {"基本满意": "比较满意", "未评价": "未评"},
}

_EPOCH = datetime(2000, 1, 1)
_EPOCH_ORD = _EPOCH.toordinal()


def _secs(dt: datetime) -> int:
    return int((dt - _EPOCH).total_seconds())


_DAY_CACHE: dict[int, tuple[int, int, int]] = {}


def _ymd(day: int) -> tuple[int, int, int]:
    v = _DAY_CACHE.get(day)
    if v is None:
        d = date.fromordinal(_EPOCH_ORD + day)
        v = _DAY_CACHE[day] = (d.year, d.month, d.day)
    return v


class _TimeFormats:
    """Lookup tables for formatting times fast: one string per day and per second of the day."""

    def __init__(self) -> None:
        self.tod = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
        self.tod_short = [f"{h}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
        self.days: dict[int, tuple[str, str, str, str]] = {}

    def day(self, day: int) -> tuple[str, str, str, str]:
        v = self.days.get(day)
        if v is None:
            y, m, d = _ymd(day)
            v = self.days[day] = (f"{y}-{m:02d}-{d:02d} ", f"{y}/{m}/{d} ", f"{y}年{m}月{d}日", f"{y}.{m}.{d}")
        return v

    def std(self, t: int | None) -> str:
        """2024-01-06 09:32:09"""
        if t is None:
            return ""
        day, sec = divmod(t, 86400)
        return self.day(day)[0] + self.tod[sec]

    def mixed(self, t: int | None, style: int) -> str:
        """The old platform wrote dates in several formats within one column."""
        if t is None:
            return ""
        day, sec = divmod(t, 86400)
        d = self.day(day)
        if style == 0:
            return d[1] + self.tod_short[sec]  # 2024/1/6 9:32:09
        if style == 1:
            return d[0] + self.tod[sec][:5]  # 2024-01-06 09:32
        if style == 2:
            return d[2] + " " + self.tod[sec][:5]  # 2024年1月6日 09:32
        return d[0] + self.tod[sec]


def _first(row: list) -> int:
    return row[0]


def _as_datetime(t: int | None) -> datetime | None:
    return None if t is None else _EPOCH + timedelta(seconds=t)


class _OpinionGen:
    """Generates one month of opinions at a time; rows hold times as seconds since 2000-01-01."""

    def __init__(self, world: World, scale: float):
        self.world = world
        self.scale = scale
        towns = world.towns
        self.town_cum = _cum([t.population ** 0.8 * (0.7 + 0.6 * t.quality) for t in towns])
        self.station_cum = {
            t.name: _cum([(SPARSE_FACTOR if s.sparse else 0.5 + s.quality) for s in t.stations]) for t in towns}
        self.channel_cum = _cum([w for _, w in CHANNELS])
        self.hour_online = _cum(HOUR_W_ONLINE)
        self.hour_office = _cum(HOUR_W_OFFICE)
        self.topics = list(T.TOPICS)
        self.end = _secs(DATA_END)

    def month_rows(self, y: int, m: int) -> list[list]:
        world = self.world
        rng = _rng(world.seed, "opinions", y, m)
        r = rng.random
        towns = world.towns
        topics = self.topics
        topic_cum = {}
        for t in towns:
            ws = []
            for k in topics:
                info = T.TOPICS[k]
                aff = info["urban"] if t.urban else info["rural"]
                ws.append(TOPIC_BASE[k] * aff * info["towns"].get(t.name, 1.0) * _topic_time_factor(k, t.name, y, m))
            topic_cum[t.name] = _cum(ws)
        first = date(y, m, 1)
        ndays = ((date(y + (m == 12), m % 12 + 1, 1)) - first).days
        expected = OPINIONS_PER_YEAR * self.scale * MONTH_SHAPE[m] / sum(MONTH_SHAPE.values())
        expected *= rng.uniform(0.97, 1.03)
        day_w = [0.65 if (first + timedelta(days=i)).weekday() >= 5 else 1.0 for i in range(ndays)]
        wsum = sum(day_w)
        rows: list[list] = []
        bis = bisect.bisect
        town_cum, town_total = self.town_cum, self.town_cum[-1]
        ch_cum, ch_total = self.channel_cum, self.channel_cum[-1]
        hour_online, hour_office = self.hour_online, self.hour_office
        ho_total, hf_total = hour_online[-1], hour_office[-1]
        station_cum = self.station_cum
        all_topics = T.TOPICS
        end = self.end
        lifecycle = self._lifecycle
        text = _opinion_text
        person = _person_name
        mobile = _mobile
        month0 = _secs(datetime(y, m, 1))
        for i in range(ndays):
            e = expected * day_w[i] / wsum
            n = int(e) + (1 if r() < e - int(e) else 0)
            day0 = month0 + i * 86400
            day_rows = []
            append = day_rows.append
            for _ in range(n):
                ch = CHANNELS[bis(ch_cum, r() * ch_total)][0]
                if ch == "民声e":
                    h = bis(hour_online, r() * ho_total)
                else:
                    h = bis(hour_office, r() * hf_total)
                t0 = day0 + h * 3600 + int(r() * 3600)
                town = towns[bis(town_cum, r() * town_total)]
                scum = station_cum[town.name]
                station = town.stations[bis(scum, r() * scum[-1])]
                if ch != "进站接待" and r() >= 0.75:
                    station = None
                tc = topic_cum[town.name]
                topic_i = bis(tc, r() * tc[-1])
                topic = all_topics[topics[topic_i]]
                slots = _Slots()
                slots.town, slots.r, slots.station = town, r, (station.name if station else None)
                title, content = text(topic, slots)
                submitter = person(r) if r() < 0.96 else ""
                u = r()
                phone = mobile(r) if u < 0.85 else (f"0571-8{int(r() * 1e7):07d}" if u < 0.93 else "")
                rep = ""
                if ch == "进站接待" or (ch == "走访" and r() < 0.5):
                    pool = station.reps if station and station.reps else town.reps
                    rep = pool[int(r() * len(pool))]
                if station:
                    q, sname = station.quality, station.name
                else:
                    q, sname = town.quality, ""
                status, handler, assigned, closed, sat = lifecycle(topic, town, q, t0, r, end)
                append([t0, ch, town.name, sname, title, content, topic["category"], submitter, phone, rep,
                        status, handler, assigned, closed, sat])
            day_rows.sort(key=_first)
            y_, m_, d_ = _ymd(day0 // 86400)
            prefix = f"MQ{y_}{m_:02d}{d_:02d}"
            for seq, row in enumerate(day_rows, start=1):
                row.insert(0, f"{prefix}{seq:05d}")
            rows.extend(day_rows)
        return rows

    @staticmethod
    def _lifecycle(topic: dict, town: Town, q: float, t0: int, r, end: int):
        """Status, handler, assigned, closed, satisfaction — better units close faster and satisfy more."""
        if r() < 0.015:  # 不予受理: out of scope, closed within days without a handler
            closed = t0 + int((0.5 + 2.5 * r()) * 86400)
            if closed >= end:
                return "待受理", "", None, None, ""
            return "不予受理", "", None, closed, ""
        assigned = t0 + int((0.05 + 2.0 * (1.2 - q) * r()) * 86400)
        if assigned >= end:
            return "待受理", "", None, None, ""
        h = _pick(topic["handlers"], r)
        handler = town.gov if h == "@town" else h
        if r() < 0.005 + 0.08 * (1 - q):  # stuck: never closed, overdue once old
            return "办理中", handler, assigned, None, ""
        median = 4 + 16 * (1 - q)
        days = min(90.0, max(1.0, math.exp(math.log(median) + 0.55 * _gauss(r))))
        closed = assigned + int(days * 86400)
        if closed >= end:
            return "办理中", handler, assigned, None, ""
        u = r()
        p1 = 0.45 + 0.5 * q
        p2 = p1 + 0.12 - 0.05 * q
        p3 = p2 + 0.015 + 0.06 * (1 - q)
        sat = "满意" if u < p1 else "基本满意" if u < p2 else "不满意" if u < p3 else "未评价"
        return "已办结", handler, assigned, closed, sat


def _gauss(r) -> float:
    # Box–Muller from the one uniform source, so the stream stays reproducible.
    return math.sqrt(-2.0 * math.log(1.0 - r())) * math.cos(2 * math.pi * r())


def _opinion_files(out: Path, years: list[int]) -> list[_OpinionFile]:
    """One csv per year; with one year, two half-year files. The last is UTF-8 with BOM and a title
    row; the one before is the old platform's GBK export with alias headers and mixed dates."""
    if len(years) == 1:
        y = years[0]
        groups = [(f"民情民意_{y}上半年.csv", [(y, m) for m in range(1, 7)]),
                  (f"民情民意_{y}下半年.csv", [(y, m) for m in range(7, 13)])]
    else:
        groups = [(f"民情民意_{y}.csv", [(y, m) for m in range(1, 13)]) for y in years]
    files = []
    for i, (name, months) in enumerate(groups):
        if i == len(groups) - 1:
            span = f"{months[0][0]}年" + ("" if len(months) == 12 else ("上半年" if months[0][1] == 1 else "下半年"))
            files.append(_OpinionFile(out / name, months, "utf-8-sig", "standard", title=f"萧山区民情民意汇总表（{span}）"))
        elif i == len(groups) - 2:
            files.append(_OpinionFile(out / name, months, "gbk", "alias"))
        else:
            files.append(_OpinionFile(out / name, months, "utf-8", "standard"))
    return files


_ALIAS_ORDER = [OPINION_FIELDS.index(name) for name, _ in ALIAS_OPINION_COLUMNS]
# Above this many opinions in all, months are generated by worker processes (same bytes, faster).
PARALLEL_MIN_ROWS = 150_000


@lru_cache(maxsize=4)
def _cached_world(seed: int) -> World:
    return build_world(seed)


@lru_cache(maxsize=1)
def _time_formats() -> _TimeFormats:
    return _TimeFormats()


def _opinion_chunk(seed: int, scale: float, y: int, m: int, style: str, encoding: str,
                   keep: bool = False) -> tuple[bytes, int, list[list] | None]:
    """One month of opinions as the csv bytes of one file style; with ``keep``, also the rows
    (times already formatted as 2024-01-06 09:32:09) for the xlsx copy of the last quarter."""
    gen = _OpinionGen(_cached_world(seed), scale)
    fmt = _time_formats()
    rows = gen.month_rows(y, m)
    out_rows = []
    if style == "alias":
        r = _rng(seed, "opinion-style", y, m).random
        mixed = fmt.mixed
        a_ch, a_st, a_sat = ALIAS_VALUES[2], ALIAS_VALUES[11], ALIAS_VALUES[15]
        order = _ALIAS_ORDER
        for row in rows:
            row = list(row)
            style_i = int(r() * 4)
            row[1], row[13], row[14] = mixed(row[1], style_i), mixed(row[13], style_i), mixed(row[14], style_i)
            row[2] = a_ch.get(row[2], row[2])
            row[11] = a_st.get(row[11], row[11])
            row[15] = a_sat.get(row[15], row[15])
            if r() < 0.3:
                row[3] = _short(row[3])
            out_rows.append([row[k] for k in order])
    else:
        std = fmt.std
        for row in rows:
            row[1], row[13], row[14] = std(row[1]), std(row[13]), std(row[14])
        out_rows = rows
    return _csv_text(out_rows).encode(encoding), len(rows), (rows if keep else None)


def _csv_text(rows: list[list[str]]) -> str:
    """csv.writer's output for rows of strings, faster: a row with no comma, quote or line break
    inside a value (nearly all) is simply joined; any other row goes through csv.writer."""
    if not rows:
        return ""
    commas = len(rows[0]) - 1
    lines = []
    slow = io.StringIO()
    writer = csv.writer(slow)
    for row in rows:
        line = ",".join(row)
        if line.count(",") == commas and '"' not in line and "\n" not in line and "\r" not in line:
            lines.append(line + "\r\n")
        else:
            writer.writerow(row)
            lines.append(slow.getvalue())
            slow.seek(0)
            slow.truncate()
    return "".join(lines)


def _write_opinions(world: World, out: Path, years: list[int], scale: float,
                    progress: ProgressFn | None, p0: float, p1: float) -> list[tuple[Path, int]]:
    files = _opinion_files(out, years)
    last_q = [(LAST_YEAR, m) for m in (10, 11, 12)]
    q_expected = OPINIONS_PER_YEAR * scale * sum(MONTH_SHAPE[m] for m in (10, 11, 12)) / 12
    want_xlsx = q_expected <= XLSX_ROW_LIMIT
    tasks = [(f, y, m) for f in files for (y, m) in f.months]
    parallel = (not want_xlsx and OPINIONS_PER_YEAR * scale * len(years) >= PARALLEL_MIN_ROWS
                and (os.cpu_count() or 1) > 1)
    chunk_encoding = {"utf-8-sig": "utf-8", "gbk": "gbk", "utf-8": "utf-8"}

    def args(task):
        f, y, m = task
        return (world.seed, scale, y, m, f.style, chunk_encoding[f.encoding], want_xlsx and (y, m) in last_q)

    def chunks() -> Iterator:
        if not parallel:
            for task in tasks:
                yield _opinion_chunk(*args(task))
            return
        import concurrent.futures as cf
        import multiprocessing as mp
        workers = min(4, os.cpu_count() or 1)
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as ex:
            pending: list = []
            it = iter(tasks)
            for task in it:  # keep a few months in flight, so memory stays bounded
                pending.append(ex.submit(_opinion_chunk, *args(task)))
                if len(pending) > 2 * workers:
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()

    q_rows: list[list] = []
    results: list[tuple[Path, int]] = []
    counts = {f.path: 0 for f in files}
    handles = {}
    try:
        for f in files:
            fh = handles[f.path] = open(f.path, "wb")
            head = io.StringIO()
            w = csv.writer(head)
            if f.title:
                w.writerow([f.title])
            w.writerow([label for _, label in ALIAS_OPINION_COLUMNS] if f.style == "alias" else STANDARD_OPINION_HEADER)
            fh.write(head.getvalue().encode(f.encoding))
        for done, ((f, y, m), (data, n, kept)) in enumerate(zip(tasks, chunks()), start=1):
            handles[f.path].write(data)
            counts[f.path] += n
            if kept:
                q_rows.extend(kept)
            if progress:
                progress(f"民情民意 {y}年{m}月", p0 + (p1 - p0) * done / len(tasks))
    finally:
        for fh in handles.values():
            fh.close()
    results = [(f.path, counts[f.path]) for f in files]
    if want_xlsx and q_rows:
        if progress:
            progress(f"民情民意（{LAST_YEAR}年第四季度 xlsx）", p1)
        results.append(_write_opinions_xlsx(out, q_rows))
    return results


def _write_opinions_xlsx(out: Path, rows: list[list]) -> tuple[Path, int]:
    """The last quarter again, as the platform's xlsx export: title row, header, rows, 合计 row.
    Its values equal those in the year's csv, so importing both changes nothing."""
    def parse(v):
        return datetime.strptime(v, "%Y-%m-%d %H:%M:%S") if v else None

    def gen():
        for row in rows:
            row = list(row)
            for j in (1, 13, 14):
                row[j] = parse(row[j]) if isinstance(row[j], str) else _as_datetime(row[j])
            yield [v if v != "" else None for v in row]

    wb = _new_workbook()
    total = ["合计", f"共 {len(rows)} 条"] + [None] * (len(STANDARD_OPINION_HEADER) - 2)
    n = _sheet(wb, "民情民意", STANDARD_OPINION_HEADER, gen(), title_row=f"萧山区民情民意汇总表（{LAST_YEAR}年第四季度）",
               total_row=total)
    path = out / f"民情民意_{LAST_YEAR}Q4.xlsx"
    _save_workbook(wb, path)
    return path, n


# ───────────────────────────── suggestions ─────────────────────────────
_CN_NUM = "零一二三四五六七八九十"


def _cn(n: int) -> str:
    if n <= 10:
        return _CN_NUM[n]
    if n < 20:
        return "十" + (_CN_NUM[n - 10] if n > 10 else "")
    return _CN_NUM[n // 10] + "十" + (_CN_NUM[n % 10] if n % 10 else "")


def session_name(year: int) -> str:
    """The district congress session held early in a year: 2023 → 区十八届人大三次会议."""
    if year >= 2021:
        return f"区十八届人大{_cn(year - 2020)}次会议"
    return f"区十七届人大{_cn(year - 2016)}次会议"


def _session_dates(year: int) -> tuple[date, date]:
    start = date(year, 1, 8 + (year * 7) % 10)
    return start, start + timedelta(days=3)


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y += d.year
    m += 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


SUGGESTION_HEADER = ["建议编号", "届次会次", "提出时间", "提出类型", "领衔代表", "附议代表", "标题", "内容", "分类", "主办单位",
                     "协办单位", "督办方式", "交办时间", "答复期限", "答复时间", "答复类别", "代表评价", "二次答复时间", "状态"]
# The newer platform's spellings (all accepted aliases), used for the last year's file.
SUGGESTION_HEADER_ALIAS = ["建议编号", "届次", "提出日期", "建议类型", "领衔人", "附议人", "案由", "建议内容", "建议分类",
                           "主办单位", "协办单位", "督办类型", "交办日期", "办理期限", "办复时间", "答复类型", "代表满意度",
                           "二次答复时间", "办理状态"]
SUGGESTION_VALUE_ALIAS = {
    3: {"大会期间": "大会", "闭会期间": "闭会"},
    11: {"常委会重点督办": "重点督办", "主任会议成员牵头督办": "主任督办", "各委办对口督办": "对口督办"},
    15: {"A": "甲", "B": "乙", "C": "丙"},
    18: {"已交办": "办理中", "已答复": "办复", "已办结": "已评价", "已提出": "待交办"},
}
EVALUATION_BY_CLASS = {"A": (0.85, 0.98), "B": (0.6, 0.92), "C": (0.35, 0.8)}  # cumulative 满意, 基本满意


def _suggestion_rows(world: World, year: int, scale: float) -> list[list]:
    rng = _rng(world.seed, "suggestions", year)
    r = rng.random
    district = [p for p in world.reps if p.level in ("区", "市", "省")]
    by_town = {t.name: t for t in world.towns}
    rep_cum = _cum([(0.4 + by_town[p.town].quality) for p in district])
    start, end_session = _session_dates(year)
    session = session_name(year)
    n_main = max(1, round(SUGGESTIONS_PER_SESSION * scale * rng.uniform(0.95, 1.05)))
    n_closed = max(1, round(CLOSED_SUGGESTIONS_PER_YEAR * scale * rng.uniform(0.9, 1.1)))
    data_end = DATA_END.date()
    rows = []
    # Supervision of session suggestions: a few key ones, some led by chair members, most by committees.
    n_key = max(1, round(8 * scale))
    n_chair = max(1, round(30 * scale))
    for kind, count in (("大会期间", n_main), ("闭会期间", n_closed)):
        for i in range(count):
            lead = district[bisect.bisect(rep_cum, r() * rep_cum[-1])]
            town = by_town[lead.town]
            q = town.quality
            if kind == "大会期间":
                submitted = start + timedelta(days=int(r() * 4) - (3 if r() < 0.2 else 0))
                assigned = end_session + timedelta(days=14 + int(r() * 15))
                sup = ("常委会重点督办" if i < n_key else "主任会议成员牵头督办" if i < n_key + n_chair
                       else "各委办对口督办" if r() < 0.6 else "")
                sid = f"D{year}-{i + 1:04d}"
            else:
                submitted = date(year, 2, 15) + timedelta(days=int(r() * 305))
                assigned = submitted + timedelta(days=5 + int(r() * 16))
                sup = "各委办对口督办" if r() < 0.3 else ""
                sid = f"B{year}-{i + 1:04d}"
            category, main, co_pool, objs = _pick(T.SUGGESTION_TOPICS, r)
            slots = _Slots()
            slots.town, slots.r, slots.station = town, r, lead.station
            obj = _pick(objs, r).format_map(slots)
            title = f"关于{obj}的建议"
            slots["obj_short"] = obj
            content = "".join(p.format_map(slots) for p in (
                _pick(T.SUGGESTION_STATUS_QUO, r), _pick(T.SUGGESTION_PROBLEMS, r), _pick(T.SUGGESTION_ASKS, r)))
            co_handlers = "、".join(sorted(set(_pick(co_pool, r) for _ in range(int(r() * 3))) - {main}))
            mates = [n for n in town.reps if n != lead.name]
            k = min(len(mates), int(r() * 6))
            co_reps = "、".join(rng.sample(mates, k)) if k else ""
            due = _add_months(assigned, 3)
            answered = second = None
            cls = evaluation = ""
            if assigned >= data_end:
                status, assigned_out, due_out = "已提出", None, None
            else:
                assigned_out, due_out = assigned, due
                u = r()
                p_on_time = 0.5 + 0.45 * q
                p_never = 0.01 + 0.06 * (1 - q)
                if u < p_on_time:
                    answered = assigned + timedelta(days=20 + int(r() * ((due - assigned).days - 20)))
                elif u < 1 - p_never:
                    answered = due + timedelta(days=3 + int(r() * 60))
                if answered is not None and answered >= data_end:
                    answered = None
                if answered is None:
                    status = "已交办"
                else:
                    v = r()
                    pa = 0.45 + 0.3 * q
                    cls = "A" if v < pa else "B" if v < pa + (1 - pa) * 0.7 else "C"
                    if r() < 0.92:
                        c1, c2 = EVALUATION_BY_CLASS[cls]
                        w = r()
                        evaluation = "满意" if w < c1 else "基本满意" if w < c2 else "不满意"
                    status = "已办结" if evaluation else "已答复"
                    if (cls == "B" and r() < 0.55) or (cls == "A" and r() < 0.1):
                        s2 = answered + timedelta(days=60 + int(r() * 140))
                        second = s2 if s2 < data_end else None
            rows.append([sid, session, submitted, kind, lead.name, co_reps, title, content, category, main,
                         co_handlers, sup, assigned_out, due_out, answered, cls, evaluation, second, status])
    return rows


def _write_suggestions(world: World, out: Path, years: list[int], scale: float) -> list[tuple[Path, int]]:
    results = []
    for y in years:
        rows = _suggestion_rows(world, y, scale)
        title = f"{session_name(y)}代表建议及闭会期间代表建议办理情况一览表"
        if y == years[-1]:
            # The newer platform: alias headers and values (甲/乙/丙), real date cells, the
            # processing columns grouped under a two-level header, a 合计 row.
            table = []
            for row in rows:
                row = list(row)
                for j, spelling in SUGGESTION_VALUE_ALIAS.items():
                    row[j] = spelling.get(row[j], row[j])
                table.append([v if v != "" else None for v in row])
            results.append(_write_table(out, f"代表建议_{y}", SUGGESTION_HEADER_ALIAS, table, title_row=title,
                                        total_row=["合计", f"{len(rows)}件"], group=("办理情况", 13, 19)))
        else:
            # The older export wrote dates as text.
            table = [[(v.isoformat() if isinstance(v, date) else (v if v != "" else None)) for v in row]
                     for row in rows]
            results.append(_write_table(out, f"代表建议_{y}", SUGGESTION_HEADER, table, title_row=title))
    return results


# ───────────────────────────── activities ─────────────────────────────
ACTIVITY_HEADER = ["活动编号", "活动日期", "镇街", "联络站", "活动类型", "活动主题", "参与代表", "参与人次", "收集意见数"]
ACTIVITY_HEADER_ALIAS = ["活动编号", "活动时间", "所属镇街", "站点", "活动形式", "活动名称", "参加代表", "参加人次", "收集意见数"]
# Every month each town holds a 视察, a 调研 and a 主题活动, and each station one 活动日 of study
# (学习培训 or 法治讲座, alternately): the fixed programme of the year. The rest of a unit's
# activities follow its own calendar, their types taking turns by these weights.
TOWN_MONTHLY = ("视察", "调研", "主题活动")
# What the district organises for every town in the same months: the standing committee's meetings
# (列席, every other month), the law-enforcement checks of the quarter, two inquiries and two court
# open days (听庭) a year. Changes all towns share move no town's place among them.
TOWN_COMMON = {"列席会议": (2, 4, 6, 8, 10, 12), "执法检查": (3, 6, 9, 12), "专题询问": (5, 11), "听庭": (4, 10)}
TOWN_PROGRAMME_PER_YEAR = 12 * len(TOWN_MONTHLY) + sum(len(ms) for ms in TOWN_COMMON.values())  # per town
STATION_MONTHLY = ("学习培训", "法治讲座")
TOWN_ACTIVITY_TYPES = (("走访选民", 0.45), ("进站接待", 0.22), ("其他", 0.33))
STATION_ACTIVITY_TYPES = (("进站接待", 0.76), ("走访选民", 0.18), ("其他", 0.06))
ACTIVITY_MONTH_SHAPE = {1: 0.8, 2: 0.6, 3: 1.1, 4: 1.1, 5: 1.1, 6: 1.1, 7: 0.95, 8: 0.85, 9: 1.1, 10: 0.9, 11: 1.15, 12: 1.15}
# The months' shape summed from January (normalised to 12 a year): the calendar's C(m).
ACTIVITY_SHAPE_CUM = [sum(ACTIVITY_MONTH_SHAPE[k] for k in range(1, m + 1)) * 12 / sum(ACTIVITY_MONTH_SHAPE.values())
                      for m in range(13)]
ACTIVITY_TYPE_ALIAS = {"调研": "专题调研", "进站接待": "接待选民", "走访选民": "走访", "学习培训": "培训", "法治讲座": "讲座",
                       "列席会议": "列席", "听庭": "旁听庭审", "其他": "其它"}
COLLECTS = {"进站接待": (3, 30), "走访选民": (2, 25), "调研": (2, 20), "视察": (1, 15), "座谈": (2, 20), "主题活动": (0, 12),
            "专题询问": (0, 5), "执法检查": (0, 8)}


class _Rotas:
    """One rota for each type of activity at a unit, started where that type's earlier activities
    of the year left off (``started``: type → turns used)."""

    def __init__(self, seed: int, unit_id: str, y: int, pool: list[str], started: dict[str, float],
                 diligence: dict[str, float]):
        self.args, self.started, self.rotas = (seed, unit_id, y, pool, diligence), started, {}

    def take(self, typ: str, k: int, r) -> list[str]:
        if typ not in self.rotas:
            seed, unit_id, y, pool, diligence = self.args
            self.rotas[typ] = _Rota(seed, (unit_id, typ), y, pool, self.started.get(typ, 0.0), diligence)
        return self.rotas[typ].take(k, r)


class _Rota:
    """Who is asked to come, as a town or station office asks: its representatives in an order fixed
    for the year (from the seed), taken in turn from ``start`` (the turns the months before have
    used, as planned); one asked stays away by chance, a lagging one mostly (``World.diligence``),
    and the next is asked. So over a year everyone is asked about equally often."""

    def __init__(self, seed: int, key, y: int, pool: list[str], start: float, diligence: dict[str, float]):
        self.order = list(pool)
        _rng(seed, "rota", key, y).shuffle(self.order)
        self.i, self.diligence = int(start), diligence

    def take(self, k: int, r) -> list[str]:
        out: list[str] = []
        n = len(self.order)
        for _ in range(3 * n):
            if len(out) >= min(k, n):
                break
            name = self.order[self.i % n]
            self.i += 1
            if name not in out and r() < self.diligence.get(name, 0.95) ** DILIGENCE_POWER:
                out.append(name)
        return out


SCHEDULE_ORIGIN = LAST_YEAR - MAX_YEARS + 1  # schedules count months from here: any --years gives the same months


def _scheduled(per_month: float, phase: float, y: int, m: int) -> range:
    """The numbers (counted since SCHEDULE_ORIGIN) of a regular programme's activities that fall in
    month (y, m): a unit that plans ``per_month`` a month (at the months' activity shape) holds them
    evenly — from ⌊C(m−1) + phase⌋ to ⌊C(m) + phase⌋ with C the cumulative plan — instead of a
    Poisson draw: real towns and stations keep a calendar, so their months differ by rounding."""
    def cum(yy: int, mm: int) -> int:
        return math.floor(per_month * ((yy - SCHEDULE_ORIGIN) * 12 + ACTIVITY_SHAPE_CUM[mm]) + phase)
    return range(cum(y, m - 1) if m > 1 else cum(y - 1, 12), cum(y, m))


GOLDEN = (math.sqrt(5) - 1) / 2


def _times(scale: float, r) -> int:
    """How many times a monthly programme runs at this scale: ⌊scale⌋, and once more with the
    fraction's probability (at scale 0.05, one month in twenty)."""
    return int(scale) + (1 if r() < scale - int(scale) else 0)


# Who comes, as a share of the unit's representatives at quality 0 and 1 (better units bring more
# of them along): a town's activity a quarter to nearly half of its representatives, a station's 活动日 more than
# half of the station's; 进站接待 is a rota of two or three.
TURNOUT = {"town": (0.12, 0.25), "station": (0.25, 0.45)}
RECEPTION_ROTA = (2, 3)
# Activities a town asks more of its representatives to: the few law-enforcement checks and
# inquiries of the year, and the meetings of the standing committee they sit in on.
TURNOUT_FACTOR = {"执法检查": 1.5, "专题询问": 2.0, "列席会议": 1.0}


def _turnout_share(where: str, quality: float) -> float:
    base, rise = TURNOUT[where]
    return base + rise * quality


def _turnout(pool: int, quality: float, r, least: int, where: str = "station", factor: float = 1.0) -> int:
    """How many of a pool of representatives come: a share that rises with the unit's quality
    (× ``factor`` for the activities everyone is asked to), give or take a tenth."""
    return min(pool, max(least, int(round(pool * _turnout_share(where, quality) * factor * (0.9 + 0.2 * r())))))


def _planned_type(types: tuple, cum: list[float], phase: float, j: int) -> str:
    """The type of a unit's j-th activity: the types take turns in proportion to their weights
    (a golden-ratio sequence over the weights), so each comes round at its own steady pace."""
    return types[bisect.bisect(cum, ((phase + j * GOLDEN) % 1.0) * cum[-1])][0]


def _poisson(r, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(lam + math.sqrt(lam) * _gauss(r))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= r()
        if p <= limit:
            return k
        k += 1


def _activity_rows(world: World, y: int, m: int, scale: float) -> list[list]:
    """One month of activities. Towns and stations keep a calendar (``_scheduled``): a steady number
    of activities a month, more in better units, their types in turn; who comes is asked by rota."""
    rng = _rng(world.seed, "activities", y, m)
    r = rng.random
    towns = world.towns
    qsum = sum(0.45 + t.quality for t in towns)
    town_base = TOWN_ACTIVITIES_PER_YEAR * scale / 12 / qsum  # besides the monthly 视察/调研
    month_no = (y - SCHEDULE_ORIGIN) * 12 + m
    tcum = _cum([w for _, w in TOWN_ACTIVITY_TYPES])
    scum = _cum([w for _, w in STATION_ACTIVITY_TYPES])
    ndays = (date(y + (m == 12), m % 12 + 1, 1) - date(y, m, 1)).days
    dil = world.diligence
    found: list[tuple] = []
    for t in towns:
        phase, type_phase = _rng(world.seed, "calendar", t.unit_id).random(), _rng(world.seed, "types", t.unit_id).random()
        per_month = town_base * (0.45 + t.quality)
        month = _scheduled(per_month, phase, y, m)
        earlier = range(_scheduled(per_month, phase, y, 1).start, month.start)
        held = Counter(_planned_type(TOWN_ACTIVITY_TYPES, tcum, type_phase, j) for j in earlier)
        held.update({typ: (m - 1) * scale for typ in TOWN_MONTHLY})
        held.update({typ: sum(mm < m for mm in ms) * scale for typ, ms in TOWN_COMMON.items()})
        share = _turnout_share("town", t.quality) * len(t.reps)
        rotas = _Rotas(world.seed, t.unit_id, y, t.reps,
                       {typ: n * share * TURNOUT_FACTOR.get(typ, 1.0) for typ, n in held.items()}, dil)
        plan = [*TOWN_MONTHLY, *(typ for typ, ms in TOWN_COMMON.items() if m in ms)] * _times(scale, r)
        plan += [_planned_type(TOWN_ACTIVITY_TYPES, tcum, type_phase, j) for j in month]
        for typ in plan:
            k = _turnout(len(t.reps), t.quality, r, 3, "town", TURNOUT_FACTOR.get(typ, 1.0))
            found.append((t, None, typ, rotas.take(typ, k, r)))
        for si, s in enumerate(t.stations):
            phase, type_phase = _rng(world.seed, "calendar", s.unit_id).random(), _rng(world.seed, "types", s.unit_id).random()
            per_month = (0.05 if s.sparse else STATION_ACTIVITIES_PER_MONTH * (0.4 + s.quality)) * scale
            month = _scheduled(per_month, phase, y, m)
            earlier = range(_scheduled(per_month, phase, y, 1).start, month.start)
            held = Counter(_planned_type(STATION_ACTIVITY_TYPES, scum, type_phase, j) for j in earlier)
            if not s.sparse:
                held.update(Counter(STATION_MONTHLY[(month_no - i + si) % len(STATION_MONTHLY)] for i in range(1, m)))
            pool = s.reps if len(s.reps) >= 2 else t.reps
            share = _turnout_share("station", s.quality) * len(pool)
            rotas = _Rotas(world.seed, s.unit_id, y, pool,
                           {typ: n * (sum(RECEPTION_ROTA) / 2 if typ == "进站接待" else share) for typ, n in held.items()}, dil)
            plan = [] if s.sparse else [STATION_MONTHLY[(month_no + si) % len(STATION_MONTHLY)]] * _times(scale, r)
            plan += [_planned_type(STATION_ACTIVITY_TYPES, scum, type_phase, j) for j in month]
            for typ in plan:
                k = (RECEPTION_ROTA[0] + int(r() * (RECEPTION_ROTA[1] - RECEPTION_ROTA[0] + 1)) if typ == "进站接待"
                     else _turnout(len(pool), s.quality, r, 2))
                found.append((t, s, typ, rotas.take(typ, k, r)))
    rows = []
    for t, s, typ, names in found:
        d = date(y, m, 1 + int(r() * ndays))
        slots = _Slots()
        slots.town, slots.r, slots.station = t, r, (s.name if s else None)
        topic = _pick(T.ACTIVITY_TOPICS[typ], r).format_map(slots)
        lo, hi = COLLECTS.get(typ, (0, 0))
        collected = lo + int(r() * (hi - lo + 1))
        q = s.quality if s else t.quality
        collected = int(round(collected * (0.6 + 0.8 * q)))
        rows.append([d, t.name, s.name if s else "", typ, topic, names, len(names), collected])
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    return [[f"HD{y}{m:02d}{i:05d}", *row] for i, row in enumerate(rows, start=1)]


def _write_activities(world: World, out: Path, years: list[int], scale: float) -> list[tuple[Path, int]]:
    """One xlsx up to the last June, and the last half-year as a csv from the newer platform."""
    months = [(y, m) for y in years for m in range(1, 13)]
    split = (LAST_YEAR, 7)
    head = [ym for ym in months if ym < split]
    tail = [ym for ym in months if ym >= split]

    table = []
    for (y, m) in head:
        rr = _rng(world.seed, "activity-style", y, m).random
        for row in _activity_rows(world, y, m, scale):
            sep = ";" if rr() < 0.3 else "、"
            table.append([row[0], row[1], row[2], row[3] or None, row[4], row[5], sep.join(row[6]), row[7], row[8]])
    results = [_write_table(out, "履职活动", ACTIVITY_HEADER, table, title_row="萧山区镇街（开发区）人大及代表联络站履职活动台账")]
    del table
    c_path = out / f"履职活动_{LAST_YEAR}下半年.csv"
    n = 0
    with open(c_path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(ACTIVITY_HEADER_ALIAS)
        for (y, m) in tail:
            rr = _rng(world.seed, "activity-style", y, m).random
            for row in _activity_rows(world, y, m, scale):
                d = row[1]
                typ = ACTIVITY_TYPE_ALIAS.get(row[4], row[4]) if rr() < 0.5 else row[4]
                sep = "、" if rr() < 0.4 else ";"
                w.writerow([row[0], f"{d.year}.{d.month}.{d.day}", row[2], row[3], typ, row[5], sep.join(row[6]),
                            row[7], row[8]])
                n += 1
    results.append((c_path, n))
    return results


# ───────────────────────────── entry points ─────────────────────────────
def demo_years(years: int) -> list[int]:
    """The ``years`` calendar years ending with 2024."""
    return list(range(LAST_YEAR - years + 1, LAST_YEAR + 1))


def write_demo_counted(out_dir: str | Path, seed: int = 0, years: int = 2, scale: float = 1.0,
                       progress: ProgressFn | None = None) -> list[tuple[Path, int]]:
    """Write the demo set; return each file with its number of data rows."""
    if not 1 <= int(years) <= MAX_YEARS:
        raise ValueError(f"年数应在 1 到 {MAX_YEARS} 之间，收到 {years}")
    if not scale > 0:
        raise ValueError(f"规模系数应大于 0，收到 {scale}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ys = demo_years(int(years))

    def step(msg: str, frac: float) -> None:
        if progress:
            progress(msg, frac)

    step("生成基层单元和代表名册", 0.0)
    world = build_world(seed)
    results = [_write_units(world, out), _write_reps(world, out)]
    step("生成代表建议", 0.05)
    results += _write_suggestions(world, out, ys, scale)
    step("生成履职活动", 0.12)
    results += _write_activities(world, out, ys, scale)
    results += _write_opinions(world, out, ys, scale, progress, 0.2, 0.75)
    step("演示数据已生成", 1.0)
    return results


def write_demo(out_dir: str | Path, seed: int = 0, years: int = 2, scale: float = 1.0,
               progress: ProgressFn | None = None) -> list[Path]:
    """Write the demo export files into ``out_dir``; return their paths (same seed → same bytes).

    ``years``: how many calendar years ending 2024; ``scale`` multiplies opinions, suggestions and
    activities (units and the ~400 representatives stay fixed). ``progress(message, fraction)``
    is called as the work proceeds.
    """
    return [p for p, _ in write_demo_counted(out_dir, seed, years, scale, progress)]

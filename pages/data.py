"""数据管理 — for the data admin: upload exports, preview what each file and sheet would do, import with
progress, the rejected rows (downloadable), column-mapping profiles for other systems' exports, and
the history of import batches with undo.

Layout only: reading, checking, counting, importing and undoing happen in ``analytics.ingest.importer`` and
``analytics.ingest.profiles``; the store is shared as ``analytics.store.db`` describes (docs/data-management.md).
"""
from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from analytics.ingest import profiles as admin
from analytics.ingest import importer as ingest
from analytics.ingest import locate
from analytics.ingest import profile_files
from analytics.store import db as store
from analytics.core.contract import KINDS, load_contract
from analytics.core.privacy import mask_name
from pages import _access, _layout

URL_PATH = "data"
UPLOAD_TYPES = ["xlsx", "csv"]
DEFAULT_OPERATOR = "数据管理员"
SHOWN_REJECTS = 500  # rows of rejects shown on the page; the download has them all
PREVIEW_ROWS = 5  # rows of each sheet shown as they would be stored
UNLOCATED_SHOWN = 500  # unlocated opinions listed for locating by hand
_POLL_S = 0.25

# session_state keys of this page
_DIR = "_data_dir"  # this session's folder of uploaded files
_GEN = "_data_upload_gen"  # the uploader's key suffix: a new one empties it after an import
_PREVIEW = "_data_preview_on"  # the admin asked for the preview of the current files
_PLANS = "_data_plans"  # (key, plans) of the current files
_PROFILES_GEN = "_data_profiles_gen"  # bumped when a profile is saved or deleted: previews recomputed
_JOB = "_data_job"
_RESULT = "_data_result"
_UNDO = "_data_undo_pending"
_FLASH = "_data_flash"


# ───────────────────────────── uploads on disk ─────────────────────────────

def _safe_name(name: str) -> str:
    name = Path(name.replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f/]", "_", name).strip() or "upload"
    return name[:200]


_UPLOAD_PREFIX = "cockpit-upload-"
_UPLOAD_KEEP_S = 24 * 3600  # folders of sessions that ended without importing are removed after a day


def _session_dir() -> Path:
    d = st.session_state.get(_DIR)
    if not d or not Path(d).is_dir():
        d = tempfile.mkdtemp(prefix=_UPLOAD_PREFIX)
        st.session_state[_DIR] = d
        now = time.time()
        for old in Path(tempfile.gettempdir()).glob(_UPLOAD_PREFIX + "*"):
            try:
                if now - old.stat().st_mtime > _UPLOAD_KEEP_S:
                    shutil.rmtree(old, ignore_errors=True)
            except OSError:
                pass
    return Path(d)


def _saved(files, limits: admin.Limits) -> tuple[list[tuple[str, Path]], list[str]]:
    """Each uploaded file written once to this session's folder under its own name (the name the
    batch history shows); files over the size limit are refused before they are written."""
    out, refused = [], []
    base = _session_dir()
    for f in files:
        limit = limits.read.max_file_bytes
        if limit is not None and f.size > limit:
            refused.append(f"无法导入“{f.name}”：文件有 {f.size / (1 << 20):,.1f} MB，超过了单个文件 "
                           f"{limit / (1 << 20):,.0f} MB 的上限（{limits.source} 的 [file] max_mb），未读取。")
            continue
        folder = base / re.sub(r"[^0-9A-Za-z_-]", "_", str(f.file_id))
        path = folder / _safe_name(f.name)
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f.getbuffer())
        out.append((str(f.file_id), path))
    return out, refused


def _forget_uploads() -> None:
    d = st.session_state.pop(_DIR, None)
    if d:
        shutil.rmtree(d, ignore_errors=True)
    st.session_state[_GEN] = st.session_state.get(_GEN, 0) + 1
    for k in (_PREVIEW, _PLANS):
        st.session_state.pop(k, None)


# ───────────────────────────── preview ─────────────────────────────

def _plan_all(db: str, uploads: list[tuple[str, Path]]) -> dict[str, dict]:
    """For each file: the plan (rolled back), a few rows as they would be stored, and for sheets
    that cannot be read as any kind, the samples and mapping suggestions for the editor."""
    plans: dict[str, dict] = {}
    with store.private_reading(db) as con:
        profiles = admin.load_profiles(con)
        for fid, path in uploads:
            report = ingest.plan_file(con, path)
            entry = {"report": report, "rows": {}, "editor": []}
            if not report.error:
                try:
                    for sheet in ingest.read_table(path, limit=PREVIEW_ROWS, profiles=profiles):
                        if sheet.frame is not None:
                            entry["rows"][sheet.index] = (sheet.kind, sheet.frame)
                except ingest.ReadError:
                    pass
            bad = {i for i, s in enumerate(report.sheets) if s["error"] and s["note"] != "空工作表"}
            if report.error or bad:
                try:
                    samples = admin.sample_sheets(path)
                except ingest.ReadError:
                    samples = []
                for s in samples:
                    if s.headers and (report.error or s.index in bad) and len([h for h in s.headers if h]) >= 2:
                        guess = admin.suggest_mapping(s.headers, s.columns, header_row=s.header_row)
                        entry["editor"].append((s, guess))
            plans[fid] = entry
    return plans


def _stored_rows(kind: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as they would be stored, with Chinese headers; an absent value reads 未知, never 0."""
    k = load_contract().kinds[kind]
    df = frame.drop(columns=["row_no"]).copy()
    if "submitter" in df.columns and kind == "opinions":
        df["submitter"] = [mask_name(v) if isinstance(v, str) else v for v in df["submitter"]]
    shown = pd.DataFrame({"行号": frame["row_no"].astype(int)})
    for col in df.columns:
        values = []
        for v in df[col].astype(object):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                values.append(admin.UNKNOWN)
            elif isinstance(v, pd.Timestamp):
                values.append(v.strftime("%Y-%m-%d %H:%M:%S") if (v.hour, v.minute, v.second) != (0, 0, 0)
                              else v.strftime("%Y-%m-%d"))
            else:
                values.append(str(v))
        shown[k.field(col).label] = values
    return shown


def _sheet_title(report: ingest.FileReport, s: dict) -> str:
    where = f"工作表“{s['sheet']}”" if s["sheet"] is not None else "文件"
    return f"{where}：{s['kind_label'] or '无法识别'}"


def _render_sheet(s: dict, rows: tuple | None) -> None:
    contract = load_contract()
    if s["error"]:
        st.warning(s["error"], icon=":material/warning:")
    elif s["note"] == "空工作表":
        st.caption("空工作表，跳过。")
        return
    k = contract.kinds[s["kind"]] if s["kind"] else None
    facts = []
    if s["header_rows"]:
        facts.append(f"表头在第 {'、'.join(map(str, s['header_rows']))} 行")
    if s.get("profile"):
        facts.append(f"按映射方案“{s['profile']}”读取")
    if facts:
        st.caption("；".join(facts))
    if s["columns"]:
        mapping = pd.DataFrame([{"列": c["column"], "表头": c["header"],
                                 "对应字段": (k.field(c["field"]).label if k and c["field"] else "（不导入）")}
                                for c in s["columns"]])
        if k and s.get("fixed"):
            mapping = pd.concat([mapping, pd.DataFrame([{"列": "—", "表头": f"固定值：{v}", "对应字段": k.field(f).label}
                                                        for f, v in s["fixed"].items()])], ignore_index=True)
        _layout.dataframe(mapping, hide_index=True, width="content")
    if s["error"]:
        return
    counts = pd.DataFrame([{"读取": s["rows_read"], "新增": s["imported"], "更新": s["updated"],
                            "不变": s["unchanged"], "拒收": s["rejected"], "跳过（空行、合计行等）": s["skipped"]}])
    _layout.dataframe(counts, hide_index=True, width="content")
    absent = [f.label for f in k.fields if f.name not in {c["field"] for c in s["columns"]}
              and f.name not in (s.get("fixed") or {})]
    if absent:
        st.caption(f"文件中没有的字段：{'、'.join(absent)}——导入后记为空（显示为“{admin.UNKNOWN}”，不是 0）。")
    if rows is not None:
        kind, frame = rows
        if len(frame):
            st.caption(f"前 {len(frame)} 行将这样保存（个人信息已脱敏）：")
            _layout.dataframe(_stored_rows(kind, frame), hide_index=True, width="stretch")


def _render_rejects(df: pd.DataFrame, key: str, file_stem: str) -> None:
    if df.empty:
        return
    rejected = df[df["处理"] == admin.LEVEL_LABELS["reject"]]
    warned = df[df["处理"] != admin.LEVEL_LABELS["reject"]]
    parts = []
    if len(rejected):
        n_rows = rejected[["文件", "工作表", "行号"]].drop_duplicates().shape[0]
        parts.append(f"拒收的行：{n_rows} 行，{len(rejected)} 处问题")
    if len(warned):
        n_rows = warned[["文件", "工作表", "行号"]].drop_duplicates().shape[0]
        parts.append(f"已入库但有提醒的行：{n_rows} 行（选填的值认不出：按原样保存或留空）")
    st.markdown("**" + "；".join(parts) + "**")
    if len(warned) and len(rejected):
        c1, c2 = st.columns(2)
        level = c1.segmented_control("显示", ["全部", "拒收", "提醒"], default="全部", key=f"rejlv_{key}")
        cols = ["全部", *sorted(df["列"].unique())]
        column = c2.selectbox("列", cols, key=f"rejcol_{key}")
        shown = df if level in (None, "全部") else (rejected if level == "拒收" else warned)
        if column != "全部":
            shown = shown[shown["列"] == column]
    else:
        shown = df
    _layout.dataframe(shown.head(SHOWN_REJECTS), hide_index=True, width="stretch")
    if len(df) > SHOWN_REJECTS:
        st.caption(f"页面上只列出前 {SHOWN_REJECTS} 处，下载的文件里有全部。")
    _access.download_button("下载拒收与提醒的行（xlsx）", lambda: admin.rejects_xlsx(df),
                            file_name=f"拒收与提醒_{file_stem}.xlsx", what="拒收与提醒的行", rows=len(df),
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key=f"rej_{key}", icon=":material/download:")


def _render_notes(report: ingest.FileReport) -> None:
    """What else the admin should know of a file: rows stored with warnings, 未定位 opinions, the
    order its dates were read in, rows of sheets that were not imported."""
    notes = []
    if report.warned:
        notes.append(f"{report.warned:,} 行已入库但有提醒（选填的值认不出：按原样保存或留空，见下表）")
    if report.unlocated:
        notes.append(f"{report.unlocated:,} 条意见没有镇街，按“未定位”保存：计入全区，不计入任何镇街；"
                     "导入后可在“未定位的意见”中按地名补定位")
    for s in report.sheets:
        for header, rule in (s.get("date_rules") or {}).items():
            notes.append(f"日期列“{header}”{rule}")
        if s.get("not_imported"):
            notes.append(f"工作表“{s['sheet']}”的 {s['not_imported']:,} 行没有导入：{s['error']}")
    for n in notes:
        st.caption(n)


def _render_plan(fid: str, path: Path, entry: dict, db: str) -> None:
    report: ingest.FileReport = entry["report"]
    with st.container(border=True):
        size = path.stat().st_size
        st.markdown(f"**{path.name}** · {size / 1024:,.0f} KB"
                    + (f" · {report.encoding}" if report.encoding else "")
                    + (f" · SHA-256 `{report.sha256[:16]}…`" if report.sha256 else ""))
        if report.error:
            st.error(report.error, icon=":material/block:")
        else:
            st.success(f"可以导入：读取 {report.rows_read:,} 行 → 新增 {report.imported:,}、更新 {report.updated:,}、"
                       f"不变 {report.unchanged:,}、拒收 {report.rejected:,}"
                       + (f"；跳过 {report.skipped:,} 行（空行、合计行等）" if report.skipped else ""),
                       icon=":material/task_alt:")
            _render_notes(report)
            for i, s in enumerate(report.sheets):  # in workbook order: position = sheet index
                st.markdown(f"*{_sheet_title(report, s)}*")
                _render_sheet(s, entry["rows"].get(i))
            _render_rejects(admin.rejects_frame([report]), f"plan_{fid}", path.stem)
        for sample, guess in entry["editor"]:
            _mapping_editor(db, fid, path, sample, guess)


# ───────────────────────────── the mapping editor ─────────────────────────────

def _field_label(kind: str, name: str) -> str:
    f = load_contract().kinds[kind].field(name)
    return f.label + ("（必填）" if f.required else "")


def _fixed_input(kind: str, fld, key: str):
    contract = load_contract()
    label = f"{fld.label}" + ("（必填）" if fld.required else "")
    if fld.type in ("enum", "town"):
        options = ["", *contract.canon[fld.vocab if fld.type == "enum" else "town"]]
        return st.selectbox(label, options, key=key, format_func=lambda v: v or "（不设）")
    return st.text_input(label, key=key, placeholder="（不设）")


_ORDER_LABELS = {"": "自动（只读能判断的日期：日大于 12 时自明）", "dmy": "日月年（03/04/2024 是 4 月 3 日）",
                 "mdy": "月日年（03/04/2024 是 3 月 4 日）"}


def _reading_options(kind: str, sample: admin.SheetSample, mapping: dict[str, str | None], key: str) -> dict:
    """The profile's reading options chosen on the page: how the export's values of 状态, 来源渠道,
    镇街 … map to ours (suggested from the vocabularies' aliases, as ``profiles suggest`` writes them),
    and the day/month order of dates such as 03/04/2024."""
    contract = load_contract()
    fields = {i: mapping.get(h) for i, h in enumerate(sample.headers) if h and mapping.get(h)}
    suggestions = profile_files.value_suggestions(kind, fields, sample, contract)
    orders = profile_files.date_orders(kind, fields, sample, contract)
    k = contract.kinds[kind]
    has_dates = any(k.field(f).type in ("date", "datetime") for f in fields.values())
    if not suggestions and not has_dates:
        return {}
    values: dict[str, dict[str, str]] = {}
    with st.expander("值的对应与日期顺序", expanded=bool(suggestions), icon=":material/swap_horiz:"):
        for fname, rows in suggestions.items():
            fld = k.field(fname)
            vocab = fld.vocab if fld.type == "enum" else "town"
            st.markdown(f"**{fld.label}**：导出里有我们的词表不认识的值。选一个我们的值，"
                        "或选“按原样保存”（统计时计入“其他/未知”，镇街则记为未定位）。")
            choices = ["", *contract.canon[vocab]]
            cols = st.columns(3)
            for i, (raw, ours, why) in enumerate(rows):
                with cols[i % 3]:
                    picked = st.selectbox(f"“{raw}” →", choices, index=choices.index(ours) if ours in choices else 0,
                                          key=f"{key}_value_{fname}_{i}", help=why,
                                          format_func=lambda v: v or "（按原样保存）")
                if picked:
                    values.setdefault(fname, {})[raw] = picked
        order = ""
        if has_dates:
            default = orders.pop() if len(orders) == 1 else ""
            order = st.selectbox("日期的日月顺序（03/04/2024 这类写法）", list(_ORDER_LABELS),
                                 index=list(_ORDER_LABELS).index(default), key=f"{key}_date_order",
                                 format_func=_ORDER_LABELS.get,
                                 help="样例里有日大于 12 的日期时已能判断，一般不必设置；"
                                      "设了以后，分不清的日期按它读，导入结果会说明按哪条规则读的。")
    return {"date_order": order or None, "values": values}


def _mapping_editor(db: str, fid: str, path: Path, sample: admin.SheetSample, guess: admin.MappingGuess) -> None:
    contract = load_contract()
    where = f"工作表“{sample.sheet}”" if sample.sheet is not None else "这个文件"
    key = f"map_{fid}_{sample.index}"
    with st.expander(f"为{where}建立列映射方案（其它系统的导出文件）", expanded=True, icon=":material/alt_route:"):
        st.caption(f"表头在第 {sample.header_row} 行。下面按表头的相似程度和各列的值给出了建议，请逐列核对；"
                   "保存后，以后表头相同的文件会自动按这个方案导入。")
        kind = st.selectbox("数据类别", KINDS, index=KINDS.index(guess.kind), key=f"{key}_kind",
                            format_func=lambda k: contract.kinds[k].label)
        if kind != guess.kind:
            guess = admin.suggest_mapping(sample.headers, sample.columns, kind=kind, header_row=sample.header_row)
        k = contract.kinds[kind]
        options = ["", *k.columns]
        mapping: dict[str, str | None] = {}
        for col in guess.columns:
            if not col.header:
                continue
            c1, c2 = st.columns([3, 2])
            chosen = c1.selectbox(
                f"{col.letter} 列“{col.header}”", options,
                index=options.index(col.field) if col.field in options else 0,
                key=f"{key}_{kind}_{col.index}",
                format_func=lambda f, kind=kind: "（不导入）" if not f else _field_label(kind, f))
            mapping[col.header] = chosen or None
            hints = "；".join(col.reasons) if col.field and chosen == col.field else ""
            c2.caption(("例：" + "、".join(col.samples) if col.samples else "（没有值）")
                       + (f"\n\n建议依据：{hints}" if hints else ""))
        used = {f for f in mapping.values() if f}
        st.markdown("**文件里没有的字段可以设固定值（每一行都相同）**")
        fixed: dict[str, str] = {}
        unmapped = [f for f in k.fields if f.name not in used and f.name != k.key]
        required = [f for f in unmapped if f.required]
        optional = [f for f in unmapped if not f.required]
        cols = st.columns(3)
        for i, fld in enumerate(required):
            with cols[i % 3]:
                fixed[fld.name] = _fixed_input(kind, fld, f"{key}_{kind}_fixed_{fld.name}")
        if optional:
            with st.expander("可选字段的固定值（例如来源渠道 = 其他）"):
                cols = st.columns(3)
                for i, fld in enumerate(optional):
                    with cols[i % 3]:
                        fixed[fld.name] = _fixed_input(kind, fld, f"{key}_{kind}_fixed_{fld.name}")
        missing = [f.label for f in k.fields if f.required and f.name not in used and not fixed.get(f.name)]
        if missing:
            st.warning(f"还缺必填字段：{'、'.join(missing)}。请选择一列对应到它，或在上面填写固定值。",
                       icon=":material/rule:")
        options = _reading_options(kind, sample, mapping, f"{key}_{kind}")
        c1, c2 = st.columns([2, 1])
        name = c1.text_input("方案名称", value=path.stem[:40], key=f"{key}_name")
        replace = c2.checkbox("覆盖同名或同表头的方案", key=f"{key}_replace")
        if st.button("保存映射方案", key=f"{key}_save", type="primary", icon=":material/save:"):
            try:
                profile = admin.make_profile(name, kind, sample.headers, mapping, fixed, user=_operator(),
                                             options=options)
                with store.writing(db, what=f"保存映射方案 {profile.name}", user=_operator()) as con:
                    admin.save_profile(con, profile, replace=replace)
            except (admin.AdminError, store.StoreError) as exc:
                st.error(str(exc), icon=":material/error:")
            else:
                st.session_state[_PROFILES_GEN] = st.session_state.get(_PROFILES_GEN, 0) + 1
                st.session_state[_FLASH] = (f"已保存映射方案“{profile.name}”。下面的预览已按它重新计算；"
                                            "以后表头相同的文件会自动使用它。")
                st.rerun()


# ───────────────────────────── import ─────────────────────────────

class _ImportJob:
    """``ingest.import_files`` in a thread of its own: a rerun or a closed tab does not cut it, and
    the page shows its progress while it runs."""

    def __init__(self, db: str, paths: list[Path], user: str, role: str | None):
        self.message, self.fraction = "正在准备导入…", 0.0
        self.reports: list[ingest.FileReport] | None = None
        self.error: Exception | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(db, paths, user, role), name="cockpit-import",
                                       daemon=True)

    def _progress(self, done: int, total: int | None, message: str) -> None:
        self.message = message
        if total:
            self.fraction = min(max(done / total, 0.0), 1.0)

    def _run(self, db: str, paths: list[Path], user: str, role: str | None) -> None:
        try:
            self.reports = ingest.import_files(db, paths, user=user, progress=self._progress, role=role)
        except Exception as exc:  # shown on the page
            self.error = exc
        finally:
            self.done.set()


def _operator() -> str:
    """Who imports or undoes: the signed-in user; in demo mode (no users) the name typed on the page."""
    if _access.current().user is not None:
        return _access.current_user()
    return (st.session_state.get("data_operator") or DEFAULT_OPERATOR).strip() or DEFAULT_OPERATOR


def _operator_input() -> None:
    if _access.current().user is not None:
        st.caption(f"操作人：{_access.current_user()}（记入导入批次和审计日志）")
    else:
        st.text_input("操作人（记入导入批次）", value=DEFAULT_OPERATOR, key="data_operator")


def _run_job(job: _ImportJob) -> None:
    bar = st.progress(job.fraction, text=job.message)
    while not job.done.wait(_POLL_S):
        bar.progress(job.fraction, text=f"{job.message}（{job.fraction:.0%}）")
    bar.progress(1.0, text="导入完成" if job.error is None else "导入停止")
    st.session_state.pop(_JOB, None)
    if job.error is not None:
        st.session_state[_RESULT] = job.error
    else:
        st.session_state[_RESULT] = job.reports
        _forget_uploads()
    st.rerun()


def _render_result(result) -> None:
    st.subheader("导入结果")
    if isinstance(result, Exception):
        st.error(str(result), icon=":material/error:")
        return
    ok = [r for r in result if not r.error]
    for r in result:
        name = Path(r.file).name
        if r.error:
            st.error(r.error, icon=":material/block:")
        else:
            st.success(f"{name}：读取 {r.rows_read:,} 行 → 新增 {r.imported:,}、更新 {r.updated:,}、不变 {r.unchanged:,}、"
                       f"拒收 {r.rejected:,}" + (f"；跳过 {r.skipped:,} 行" if r.skipped else "")
                       + f"（批次 {r.batch_id}）", icon=":material/task_alt:")
            _render_notes(r)
    if ok:
        table = pd.DataFrame([{"文件": Path(r.file).name, "批次": r.batch_id, "读取": r.rows_read, "新增": r.imported,
                               "更新": r.updated, "不变": r.unchanged, "拒收": r.rejected, "跳过": r.skipped,
                               "映射方案": "、".join(r.profiles) or "—"} for r in ok])
        _layout.dataframe(table, hide_index=True, width="content")
        _render_rejects(admin.rejects_frame(ok), "result", "本次导入")


def _import_tab(db: str, version: str) -> None:
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    job = st.session_state.get(_JOB)
    if job is not None:
        st.info("正在导入，请稍候（可以离开本页，导入会继续）。", icon=":material/hourglass_top:")
        _run_job(job)
        return
    result = st.session_state.get(_RESULT)
    if result is not None:
        _render_result(result)
        if st.button("继续导入其它文件", icon=":material/upload_file:"):
            st.session_state.pop(_RESULT, None)
            st.rerun()
        return
    try:
        limits = admin.load_limits()
    except admin.LimitsError as exc:
        st.error(str(exc))
        return
    if not _access.can("import"):
        st.info("导入和撤销只有管理员可以操作。", icon=":material/lock:")
        return
    _operator_input()
    max_mb = min(limits.read.max_file_bytes / (1 << 20), st.get_option("server.maxUploadSize"))
    _layout.chinese_uploader(max_mb, UPLOAD_TYPES)
    with st.container(key=_layout.UPLOADER_KEY):
        files = st.file_uploader(
            "选择导出文件（.xlsx / .csv，可一次选多个）", type=UPLOAD_TYPES, accept_multiple_files=True,
            key=f"data_upload_{st.session_state.get(_GEN, 0)}",
            help=f"单个文件不超过 {max_mb:,.0f} MB，每个工作表不超过 {limits.max_rows:,} 行。"
                 "先预览，确认后再导入。")
    if not files:
        st.caption("上传后先预览：每个文件、每个工作表识别为哪类数据、表头在哪一行、各列对应哪个字段，"
                   "以及将新增、更新、不变和拒收的行数与原因。确认后再导入；导入的每一批都可以在“导入历史与撤销”中撤销。")
        return
    uploads, refused = _saved(files, limits)
    for msg in refused:
        st.error(msg, icon=":material/block:")
    if not uploads:
        return
    if st.button("预览", icon=":material/preview:", key="data_preview"):
        st.session_state[_PREVIEW] = True
    if not st.session_state.get(_PREVIEW):
        return
    plan_key = (tuple(fid for fid, _ in uploads), version, st.session_state.get(_PROFILES_GEN, 0))
    cached = st.session_state.get(_PLANS)
    if cached is None or cached[0] != plan_key:
        with st.spinner("正在读取和检查文件（不会改动数据库）…"):
            try:
                plans = _plan_all(db, uploads)
            except store.StoreError as exc:
                st.error(str(exc))
                return
        st.session_state[_PLANS] = cached = (plan_key, plans)
    plans = cached[1]
    st.subheader("预览（尚未导入）")
    for fid, path in uploads:
        _render_plan(fid, path, plans[fid], db)
    importable = [path for fid, path in uploads if not plans[fid]["report"].error]
    if not importable:
        st.info("没有可以导入的文件。", icon=":material/info:")
        return
    skipped = len(uploads) - len(importable)
    label = f"导入 {len(importable)} 个文件" + (f"（另有 {skipped} 个无法导入，将跳过）" if skipped else "")
    if st.button(label, type="primary", icon=":material/database_upload:", key="data_import"):
        job = _ImportJob(db, importable, _operator(), _access.current_role())
        st.session_state[_JOB] = job
        st.session_state.pop(_RESULT, None)
        job.thread.start()
        st.rerun()


# ───────────────────────────── history and undo ─────────────────────────────

@st.cache_data(show_spinner=False, max_entries=8)
def _batches(db: str, version: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return admin.list_batches(con)


@st.cache_data(show_spinner=False, max_entries=16)
def _batch_rejects(db: str, version: str, batch_id: int) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return admin.batch_rejects(con, [batch_id])


def _batch_label(row) -> str:
    return (f"批次 {row.batch_id} · {row.file_name} · {row.imported_at:%Y-%m-%d %H:%M} · "
            f"新增 {row.imported} 更新 {row.updated}" + ("（已撤销）" if pd.notna(row.undone_at) else ""))


def _history_tab(db: str, version: str, sel) -> None:
    flash = st.session_state.pop(_FLASH + "_history", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    counts = _layout.store_counts(sel.db, sel.version)
    kinds = load_contract().kinds
    st.subheader("当前数据库")
    st.caption(f"文件：{sel.db}" + ("（演示数据）" if sel.is_demo else ""))
    _layout.dataframe(pd.DataFrame({"数据类别": [kinds[k].label for k in counts], "行数": list(counts.values())}),
                 hide_index=True, width="content")
    st.subheader("导入批次")
    df = _batches(db, sel.batches)
    if df.empty:
        st.info("还没有任何导入批次。", icon=":material/info:")
        return
    _layout.dataframe(admin.batches_for_display(df), hide_index=True, width="stretch",
                 column_config={"SHA-256": st.column_config.TextColumn(width="small"),
                                "导入时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
    rows = {int(r.batch_id): r for r in df.itertuples()}
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**撤销一个批次**")
        active = [b for b, r in rows.items() if pd.isna(r.undone_at)]
        if not _access.can("import"):
            st.caption("撤销只有管理员可以操作。")
        elif not active:
            st.caption("没有可以撤销的批次。")
        else:
            chosen = st.selectbox("批次", active, format_func=lambda b: _batch_label(rows[b]), key="data_undo_pick")
            st.caption("撤销后，该批次新增的行被删除、更新的行恢复为导入前的样子；批次留在历史中并标为已撤销。"
                       "若之后的批次又改动了同样的行，须先撤销那些较晚的批次（从最新的开始）。")
            pending = st.session_state.get(_UNDO)
            if pending != chosen:
                if st.button("撤销所选批次…", key="data_undo", icon=":material/undo:"):
                    st.session_state[_UNDO] = chosen
                    st.rerun()
            else:
                r = rows[chosen]
                st.warning(f"确定撤销批次 {chosen}（{r.file_name}）吗？它新增的 {r.imported} 行将被删除，"
                           f"更新的 {r.updated} 行恢复为导入前。", icon=":material/warning:")
                b1, b2 = st.columns(2)
                if b1.button("确认撤销", type="primary", key="data_undo_confirm"):
                    st.session_state.pop(_UNDO, None)
                    try:
                        with st.spinner("正在撤销…"):
                            report = admin.undo_batch_at(db, chosen, user=_operator(), role=_access.current_role())
                    except (admin.AdminError, store.StoreError) as exc:
                        st.error(str(exc), icon=":material/error:")
                    else:
                        st.session_state[_FLASH + "_history"] = report.summary()
                        st.rerun()
                if b2.button("取消", key="data_undo_cancel"):
                    st.session_state.pop(_UNDO, None)
                    st.rerun()
    with c2:
        st.markdown("**某个批次拒收与提醒的行**")
        with_rejects = [b for b, r in rows.items() if r.rejected or r.warned]
        if not with_rejects:
            st.caption("所有批次都没有拒收或提醒的行。")
        else:
            b = st.selectbox("批次", with_rejects, format_func=lambda b: _batch_label(rows[b]), key="data_rej_pick")
            _render_rejects(_batch_rejects(db, sel.batches, b), f"batch_{b}", f"批次{b}")


# ───────────────────────────── unlocated opinions ─────────────────────────────

@st.cache_data(show_spinner=False, max_entries=8)
def _unlocated(db: str, version: str, gazetteer_stamp: float) -> tuple[pd.DataFrame, int, dict[str, str]]:
    with _layout.read_store(db) as con:
        df, total = locate.unlocated_frame(con, limit=UNLOCATED_SHOWN)
        return df, total, locate.proposals(con)


def _unlocated_tab(db: str, version: str) -> None:
    flash = st.session_state.pop(_FLASH + "_locate", None)
    if flash:
        st.success(flash, icon=":material/check_circle:")
    gz = locate.GAZETTEER_PATH
    df, total, proposed = _unlocated(db, version, gz.stat().st_mtime if gz.exists() else 0.0)
    if not total:
        st.info("没有未定位的意见：每条民情民意都有镇街。", icon=":material/check_circle:")
        return
    st.markdown(f"**{total:,} 条民情民意没有镇街（未定位）**，其中 {len(proposed):,} 条可以按文中的地名建议镇街。")
    st.caption("未定位的意见计入全区的各项数字，不计入任何镇街，也不参加镇街排名。补上镇街后全区数字不变，"
               "该镇街的数字和排名随之重新计算。补定位作为一个批次记入导入历史，可以像导入一样撤销。"
               "地名来自 data/gazetteer.csv（村社区、联络站、道路、河道），以及镇街的全称和简称。")
    if not _access.can("import"):
        st.caption("补定位只有管理员可以操作。")
        _layout.dataframe(df, hide_index=True, width="stretch")
        return
    towns = list(load_contract().towns)
    edited = _layout.data_editor(
        df.assign(镇街=df["建议镇街"].replace("", None)), hide_index=True, width="stretch", key="data_locate_editor",
        disabled=[c for c in df.columns], column_order=["编号", "提交时间", "标题", "内容", "建议镇街", "依据", "镇街"],
        column_config={"镇街": st.column_config.SelectboxColumn("定位到（可改）", options=towns),
                       "内容": st.column_config.TextColumn(width="large")})
    if total > len(df):
        st.caption(f"表中列出最新的 {len(df):,} 条；“接受全部建议”对全部 {total:,} 条中有建议的 {len(proposed):,} 条生效。")
    c1, c2 = st.columns(2)
    chosen = {r["编号"]: r["镇街"] for _, r in edited.iterrows() if isinstance(r["镇街"], str) and r["镇街"]}
    jobs = []
    if c1.button(f"接受全部建议（{len(proposed):,} 条）", key="data_locate_all", disabled=not proposed,
                 icon=":material/done_all:"):
        jobs.append((proposed, "按地名建议补定位"))
    if c2.button(f"按表中“定位到”保存（{len(chosen):,} 条）", key="data_locate_chosen", disabled=not chosen,
                 icon=":material/place:"):
        jobs.append((chosen, "补定位"))
    for assignments, source in jobs:
        try:
            with st.spinner("正在补定位…"):
                result = locate.locate_at(db, assignments, user=_operator(), role=_access.current_role(), source=source)
        except (admin.AdminError, store.StoreError) as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            towns_text = "、".join(f"{t} {n}" for t, n in result["towns"].items())
            st.session_state[_FLASH + "_locate"] = (f"已为 {result['located']:,} 条意见补上镇街（{towns_text}），"
                                                    f"记为批次 {result['batch_id']}，可在“导入历史与撤销”中撤销。")
            st.rerun()


# ───────────────────────────── profiles ─────────────────────────────

def _file_stamp(db: str) -> tuple:
    """Changes when the store file is written (a profile saved elsewhere, an import)."""
    try:
        s = Path(db).stat()
        return s.st_ino, s.st_size, s.st_mtime_ns
    except FileNotFoundError:
        return ()


@st.cache_data(show_spinner=False, max_entries=8)
def _profiles(db: str, stamp: tuple, gen: int) -> list[admin.Profile]:
    with _layout.read_store(db) as con:
        return admin.load_profiles(con)


def _profiles_tab(db: str) -> None:
    st.caption("其它系统（如政府留言板、12345 热线）导出的文件，列名与平台导出不同。在“导入文件”中上传这样的文件时，"
               "可以逐列指定对应的字段并保存为映射方案；以后表头相同的文件自动按方案导入。"
               "命令行：python -m analytics ingest --profile 方案名 文件。")
    profiles = _profiles(db, _file_stamp(db), st.session_state.get(_PROFILES_GEN, 0))
    if not profiles:
        st.info("还没有保存任何映射方案。", icon=":material/info:")
        return
    _layout.dataframe(admin.profiles_frame(profiles), hide_index=True, width="stretch")
    if not _access.can("import"):
        return
    name = st.selectbox("删除一个方案", [p.name for p in profiles], key="data_profile_pick")
    sure = st.checkbox("确认删除（已按它导入的数据不受影响）", key="data_profile_sure")
    if st.button("删除映射方案", disabled=not sure, key="data_profile_delete", icon=":material/delete:"):
        try:
            with store.writing(db, what=f"删除映射方案 {name}", user=_operator()) as con:
                admin.delete_profile(con, name)
        except (admin.AdminError, store.StoreError) as exc:
            st.error(str(exc))
        else:
            st.session_state[_PROFILES_GEN] = st.session_state.get(_PROFILES_GEN, 0) + 1
            st.rerun()


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    sel = _layout.selection()
    tab_import, tab_history, tab_unlocated, tab_profiles = st.tabs(
        ["导入文件", "导入历史与撤销", "未定位的意见", "列映射方案"])
    with tab_import:
        _import_tab(sel.db, sel.version)
    with tab_history:
        _history_tab(sel.db, sel.version, sel)
    with tab_unlocated:
        _unlocated_tab(sel.db, sel.version)
    with tab_profiles:
        _profiles_tab(sel.db)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()

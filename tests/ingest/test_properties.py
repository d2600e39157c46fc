"""Property-based tests (hypothesis): whatever cells, rows and values an export holds, the importer
raises nothing, accounts for every row (stored, or rejected with a reason) and lets no personal
number through in any reason or warning."""
from __future__ import annotations

import csv
import io
import re

from hypothesis import HealthCheck, given, settings, strategies as st

from analytics.ingest.importer import ingest_files
from analytics.store import db as store

PHONE = "13812345678"
ID_NO = "330102199001011234"
CARD = "6222021234567890123"
MAIL = "zhang.san@example.com"
PERSONAL = (PHONE, ID_NO, CARD, MAIL)

cells = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-10**25, max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "瓜沥镇", "火星镇", "2024-05-01", "12/31/2016", "31/12/2016", "03/04/2016",
                     "45297", "昨天", "已办结", "已办理", "=1+1", "@SUM(A1)", "\u0000", "\u202e", *PERSONAL]),
)
HEADER = ["编号", "提交时间", "来源渠道", "镇街", "内容", "状态", "满意度", "办结时间"]
rows = st.lists(st.lists(cells, min_size=len(HEADER), max_size=len(HEADER)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows)
def test_any_rows_are_stored_or_rejected_with_a_masked_reason(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("p") / "o.csv"
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HEADER)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    con = store.connect(tmp_path_factory.mktemp("s") / "s.duckdb")
    try:
        (r,) = ingest_files(con, [path])
        if r.error is None:
            assert r.imported + r.updated + r.unchanged + r.rejected == r.rows_read
            n = con.execute("SELECT count(*) FROM opinions").fetchone()[0]
            assert n == r.imported  # a fresh store: every row not rejected is there
            text = " ".join(x.reason for x in r.rejects)
            text += " ".join(x[0] for x in con.execute("SELECT reason FROM rejected_rows").fetchall())
            for value in PERSONAL:
                assert value not in text
            assert not re.search(r"(?<![\d.])1[3-9]\d{9}(?![\d.])", text)  # a mobile number standing alone
    finally:
        con.close()


@settings(max_examples=40, deadline=None)
@given(argv=st.lists(st.one_of(st.sampled_from(["--top", "--limit", "--year", "--period", "--quarter", "--month",
                                                "--json", "--town", "-1", "0", "99999999999", "2024Q9", "x"]),
                               st.text(max_size=8)), max_size=5),
       command=st.sampled_from(["hotwords", "batches", "reps", "summary", "indices", "rank", "points",
                                "suggestions"]))
def test_any_arguments_end_in_an_exit_status_never_a_traceback(argv, command, tmp_path_factory):
    import contextlib

    from analytics.__main__ import main

    db = tmp_path_factory.mktemp("c") / "none.duckdb"
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main([command, *argv, "--db", str(db)])
    assert code in (0, 1, 2), (command, argv, err.getvalue())
    assert "Traceback" not in err.getvalue()

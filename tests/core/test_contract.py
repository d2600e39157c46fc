"""The data contract: it loads, it rejects its own mistakes in Chinese, and its document cannot drift.

docs/data-contract.md must list, for every kind, exactly the fields, header spellings, types and
required flags of data/contract.toml, and for every vocabulary exactly its values and spellings.
"""
from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pytest

from analytics.store import db as store
from analytics.core.contract import CONTRACT_PATH, KINDS, ContractError, load_contract, parse_contract

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def raw() -> dict:
    return tomllib.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def section(doc: str, start: str) -> str:
    """The text from the heading line containing ``start`` to the next heading of the same level."""
    lines = doc.splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("#") and start in line)
    level = len(lines[i]) - len(lines[i].lstrip("#"))
    out = []
    for line in lines[i + 1:]:
        if line.startswith("#") and len(line) - len(line.lstrip("#")) <= level:
            break
        out.append(line)
    return "\n".join(out)


def table_rows(text: str) -> list[list[str]]:
    rows = []
    for line in text.splitlines():
        if line.startswith("|") and not set(line) <= set("|-: "):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[1:]  # without the header row


def spellings(cell: str) -> set[str]:
    return set() if cell in ("—", "") else set(cell.split("、"))


def test_contract_loads_with_five_kinds_and_the_23_towns():
    c = load_contract()
    assert tuple(c.kinds) == KINDS
    assert len(c.towns) == 23 and "萧山经济技术开发区" in c.towns
    assert c.lookup("town", "瓜沥") == "瓜沥镇" and c.lookup("channel", " 民声E ") == "民声e"
    assert c.header_map("opinions")["反映时间"] == "submitted_at"
    assert c.header_map("reps")["所属镇街"] == "town"  # 所属镇街（开发区）: the note in brackets is ignored


@pytest.mark.parametrize("kind", KINDS)
def test_doc_lists_every_field_and_header_spelling(raw, doc, kind):
    k = raw["kinds"][kind]
    text = section(doc, f"（`{kind}`，主键 `{k['key']}`）")
    documented = {r[0].strip("`"): r for r in table_rows(text)}
    assert list(documented) == [f["name"] for f in k["fields"]], f"{kind}: fields in the doc differ"
    for f in k["fields"]:
        row = documented[f["name"]]
        assert row[1] == f["label"], f"{kind}.{f['name']}: label"
        assert spellings(row[2]) == set(f.get("aliases", [])), f"{kind}.{f['name']}: header spellings"
        assert row[3].split()[0] == f["type"], f"{kind}.{f['name']}: type"
        if f["type"] == "enum":
            assert f"`{f['vocab']}`" in row[3], f"{kind}.{f['name']}: vocabulary"
        assert row[4] == ("是" if f.get("required") else "否"), f"{kind}.{f['name']}: required"
        assert row[5] and row[6], f"{kind}.{f['name']}: meaning and validation must be described"


def test_doc_lists_every_vocabulary_value_and_spelling(raw, doc):
    for vname, table in raw["vocab"].items():
        rows = table_rows(section(doc, f"### `{vname}`"))
        assert [r[0] for r in rows] == list(table), f"vocab {vname}: values in the doc differ"
        for r in rows:
            assert spellings(r[1]) == set(table[r[0]]), f"vocab {vname}.{r[0]}: spellings"


def test_doc_says_where_the_contract_lives(doc):
    assert "data/contract.toml" in doc and "analytics/core/contract.py" in doc


def test_store_columns_match_the_contract(tmp_path):
    """The importer stages rows typed by the contract into these tables: they must agree."""
    con = store.connect(tmp_path / "s.duckdb")
    c = load_contract()
    sql_type = {"id": "VARCHAR", "text": "VARCHAR", "enum": "VARCHAR", "town": "VARCHAR",
                "int": "BIGINT", "date": "DATE", "datetime": "TIMESTAMP"}
    for kind in KINDS:
        cols = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_name = ? ORDER BY ordinal_position", [kind]).fetchall()
        expected = [(f.name, sql_type[f.type]) for f in c.kinds[kind].fields]
        # a field added by a later migration (ALTER TABLE … ADD COLUMN) comes after batch_id and row_hash
        bookkeeping = [("batch_id", "BIGINT"), ("row_hash", "VARCHAR")]
        assert [x for x in cols if x not in bookkeeping] == expected, kind
        assert [x for x in cols if x in bookkeeping] == bookkeeping, kind
    con.close()


# ── a broken contract is refused with a Chinese message naming the place ─────

def broken(raw: dict, change) -> str:
    bad = copy.deepcopy(raw)
    change(bad)
    with pytest.raises(ContractError) as exc:
        parse_contract(bad)
    msg = str(exc.value)
    assert HAN.search(msg) and msg.startswith("数据契约文件 contract.toml 有误：")
    return msg


def field(raw, kind, name):
    return next(f for f in raw["kinds"][kind]["fields"] if f["name"] == name)


def test_enum_with_unknown_vocabulary(raw):
    msg = broken(raw, lambda r: field(r, "opinions", "status").update(vocab="no_such_vocab"))
    assert "no_such_vocab" in msg and "不存在" in msg and "状态" in msg


def test_header_spelling_belonging_to_two_fields(raw):
    msg = broken(raw, lambda r: field(r, "opinions", "title")["aliases"].append("留言内容"))
    assert "留言内容" in msg and "同时属于" in msg and "title" in msg and "content" in msg


def test_value_spelling_belonging_to_two_values(raw):
    msg = broken(raw, lambda r: r["vocab"]["channel"]["走访"].append("接待"))
    assert "接待" in msg and "同时属于" in msg


def test_unknown_field_type(raw):
    msg = broken(raw, lambda r: field(r, "units", "population").update(type="number"))
    assert "number" in msg and "不认识" in msg


def test_key_that_is_not_a_field(raw):
    msg = broken(raw, lambda r: r["kinds"]["reps"].update(key="rep_no"))
    assert "rep_no" in msg and "主键" in msg


def test_missing_kind_and_missing_town_list(raw):
    assert "kinds.activities" in broken(raw, lambda r: r["kinds"].pop("activities"))
    assert "镇街" in broken(raw, lambda r: r["vocab"].pop("town"))


def test_field_without_a_label(raw):
    assert "缺少 label" in broken(raw, lambda r: field(r, "units", "name").pop("label"))


def test_invalid_toml_file(tmp_path):
    p = tmp_path / "contract.toml"
    p.write_text("[kinds.units\nlabel = 1", encoding="utf-8")
    with pytest.raises(ContractError, match="不是合法的 TOML"):
        load_contract(str(p))

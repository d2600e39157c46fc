"""The 1+23+64 tree of grassroots units (总站 → 镇街 → 联络站), with every unit's index scores.

The units, and which town a station belongs to, are exactly those the indices use
(``analytics.domain.indices``: the units export, else the 23 towns of the contract; a station's 上级单元
given as a unit id or a town name). A station whose town cannot be told hangs under the district.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from analytics.domain import indices
from analytics.domain.indices import LEVELS, SCORE_COLUMNS, IndexConfig

TREE_COLUMNS = ["unit_id", "unit", "level", "parent_id", "town"]


def unit_tree(con: duckdb.DuckDBPyConnection, config: IndexConfig | None = None) -> pd.DataFrame:
    """One row per unit: unit_id, unit (its name), level (district / town / station), parent_id
    ('' for the district), town (the canonical 镇街 name; '' for the district and for a station
    whose town is unknown). District first, then towns and stations by unit_id."""
    cfg = config or indices.load_config()
    # The indices' own reading of the units, so the tree and the scores cannot disagree.
    ctx = indices.index_context(con.cursor(), cfg)
    district = ctx.district["unit_id"]
    town_ids = dict(zip(ctx.towns["town"], ctx.towns["unit_id"]))
    rows = [{"unit_id": district, "unit": ctx.district["unit"], "level": "district", "parent_id": "", "town": ""}]
    rows += [{"unit_id": t.unit_id, "unit": t.unit, "level": "town", "parent_id": district, "town": t.town}
             for t in ctx.towns.sort_values("unit_id").itertuples(index=False)]
    rows += [{"unit_id": s.unit_id, "unit": s.unit, "level": "station",
              "parent_id": town_ids.get(s.town, district), "town": s.town if s.town in town_ids else ""}
             for s in ctx.stations.sort_values("unit_id").itertuples(index=False)]
    return pd.DataFrame(rows, columns=TREE_COLUMNS)


def scored_tree(con: duckdb.DuckDBPyConnection, period, config: IndexConfig | None = None) -> pd.DataFrame:
    """``unit_tree`` with each unit's scores for the period (``compute_indices`` of its level):
    the five indices, composite (NaN = 样本不足) and insufficient."""
    cfg = config or indices.load_config()
    tree = unit_tree(con, cfg)
    scores = pd.concat([indices.compute_indices(con, period, level, cfg) for level in LEVELS], ignore_index=True)
    return tree.merge(scores[["unit_id", *SCORE_COLUMNS, "insufficient"]], on="unit_id", how="left")

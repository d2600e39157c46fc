"""Who belongs where, in SQL: the one definition of how a representative, an activity's participants
and a suggestion's lead are placed in a town and a station, shared by the indices
(``analytics.domain.indices``) and the representatives' record (``analytics.domain.duty``).

The fragments are common table expressions over the store's tables; their parameters (``$sm_town`` …,
``$ws``, ``$sep``, ``$start``, ``$end``) are bound, never formatted in. ``execute`` passes exactly the
named parameters a statement uses.
"""
from __future__ import annotations

import re

import duckdb
import pandas as pd

WS_SQL = r"[\s\x{3000}\x{00A0}]+"

# The station-name map and the station units, passed as bound lists (no temporary objects:
# the store may be open read-only).
MAP_CTES = """
    station_map AS (
        SELECT unnest(CAST($sm_town AS VARCHAR[])) AS town, unnest(CAST($sm_raw AS VARCHAR[])) AS raw,
               unnest(CAST($sm_station AS VARCHAR[])) AS station_id
    ), station_units AS (
        SELECT unnest(CAST($su_station AS VARCHAR[])) AS station_id, unnest(CAST($su_town AS VARCHAR[])) AS town
    )"""
PARAM_RE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def execute(cur: duckdb.DuckDBPyConnection, sql: str, params: dict):
    """Execute with exactly the named parameters the statement uses (DuckDB rejects extra ones)."""
    used = set(PARAM_RE.findall(sql))
    return cur.execute(sql, {k: v for k, v in params.items() if k in used})


def fetch_frame(cur: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    """Small results as a DataFrame, built from fetchall (cheaper than .df() for a few rows)."""
    rows = execute(cur, sql, params).fetchall()
    return pd.DataFrame.from_records(rows, columns=[d[0] for d in cur.description])


# Representatives with their cell; name_key = the name without spaces, for matching names.
REP_CELLS = """
    rep_cells AS (
        SELECT r.rep_id, r.name, r.rep_level, r.town, r.station, coalesce(m.station_id, '') AS station_id,
               regexp_replace(r.name, $ws, '', 'g') AS name_key
        FROM reps r LEFT JOIN station_map m ON m.town = r.town AND m.raw = r.station
    ), rep_keys AS (
        SELECT rep_id AS key, rep_id, town, 1 AS pri FROM rep_cells
        UNION ALL SELECT name_key, rep_id, town, 2 FROM rep_cells
    )"""
# Each listed participant -> one representative: by 代表编号 (pri 1), else by name (pri 2); a name
# several representatives share goes to the one in the activity's town, else to nobody. One row
# per (activity, representative), however often the name is listed. (min = max instead of
# count(DISTINCT …): the same answer without DuckDB's costly distinct aggregates.) The answer
# depends only on the listed name and the town, so it is worked out once per distinct (name, town)
# — a few thousand pairs — and joined back to the ~10 names of every activity.
RESOLVE_NAMES = """
        SELECT t.token, t.place,
               CASE WHEN bool_or(k.pri = 1) THEN min(k.rep_id) FILTER (WHERE k.pri = 1)
                    WHEN min(k.rep_id) = max(k.rep_id) THEN min(k.rep_id)
                    WHEN min(k.rep_id) FILTER (WHERE k.town = t.place) = max(k.rep_id) FILTER (WHERE k.town = t.place)
                    THEN min(k.rep_id) FILTER (WHERE k.town = t.place) END AS rep_id
        FROM (SELECT DISTINCT token, {place} AS place FROM {tok}) t
        JOIN rep_keys k ON k.key = regexp_replace(t.token, $ws, '', 'g')
        GROUP BY t.token, t.place"""
PARTICIPATIONS = """
    tok AS (
        SELECT activity_id, {period_date} AS period, town, type,
               unnest(regexp_split_to_array(participants, $sep)) AS token
        FROM activities
        WHERE date >= $start AND date < $end AND participants IS NOT NULL
    ), tok_rep AS (""" + RESOLVE_NAMES.format(place="town", tok="tok").replace("{", "{{").replace("}", "}}") + """
    ), participations AS (
        SELECT t.activity_id, t.period, t.type, r.rep_id
        FROM tok t JOIN tok_rep r ON r.token = t.token AND r.place IS NOT DISTINCT FROM t.town
        WHERE r.rep_id IS NOT NULL
        GROUP BY t.activity_id, t.period, t.type, r.rep_id
    )"""
# Each suggestion -> its lead representative's cell: by 代表编号, else by name. A name shared by
# representatives of one town places the suggestion in that town (and in their station when they
# share one); shared across towns or not in the roster, it counts for the district only (town '').
# For the town this is the rule of analytics.domain.metrics.
SUGGESTIONS_PLACED = """
    sugg AS (
        SELECT suggestion_id, {period_sub} AS period, answer_class,
               trim(lead_rep) AS lead_id, regexp_replace(lead_rep, $ws, '', 'g') AS lead_key
        FROM suggestions WHERE submitted_at >= $start AND submitted_at < $end
    ), sugg_cand AS (
        SELECT s.suggestion_id, r.rep_id, r.town, r.station_id, 1 AS pri FROM sugg s JOIN rep_cells r ON r.rep_id = s.lead_id
        UNION ALL
        SELECT s.suggestion_id, r.rep_id, r.town, r.station_id, 2 AS pri FROM sugg s JOIN rep_cells r ON r.name_key = s.lead_key
    ), sugg_best AS (
        -- by id when the lead is an id, else every representative of that name
        SELECT c.* FROM sugg_cand c
        WHERE c.pri = 1 OR c.suggestion_id NOT IN (SELECT suggestion_id FROM sugg_cand WHERE pri = 1)
    ), sugg_lead AS (
        SELECT suggestion_id,
               CASE WHEN min(town) = max(town) THEN min(town) END AS town,
               CASE WHEN min(town) = max(town) AND min(station_id) = max(station_id) THEN min(station_id) END AS station_id,
               CASE WHEN min(rep_id) = max(rep_id) THEN min(rep_id) END AS rep_id
        FROM sugg_best GROUP BY suggestion_id
    ), placed AS (
        SELECT s.suggestion_id, s.period, coalesce(l.town, '') AS town, coalesce(l.station_id, '') AS station_id,
               l.rep_id, s.answer_class
        FROM sugg s LEFT JOIN sugg_lead l USING (suggestion_id)
    )"""

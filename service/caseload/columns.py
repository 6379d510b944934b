"""A caseload chunk as numpy arrays: the facts the vectorised evaluator reads.

``from_arrow(table)`` reads a table in the flat layout (``layout.arrow_schema()``) into a
``Batch`` (the columns the programs' batch forms read: ``service.engine.programs.arrays``) and
flags every row it cannot vouch for in ``slow``: a value the contract would refuse (an unknown
code, a negative amount, a missing birth date, a duplicate member id, …), a household without
counted members, or an amount too large for the evaluator's integer arithmetic. Flagged rows are
validated by the contract (pydantic) and, if valid, evaluated by the per-household engine, so the
flags only need to be a superset of what the contract refuses.

Money is integer fen (int64), floor areas integer 1/10,000 m², dates days since 1970-01-01.
Tri-state facts are int8: -1 unknown, 0 false, 1 true.

The facts the evaluator reads are checked where they are read (``_build``). A fact of the layout
that no program reads yet (one just added to the contract) is checked from its contract shape
(``unread_checks``), so a row the contract would refuse is never taken on the fast path.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from service.caseload import layout
from service.caseload.shape import Fact
from service.engine.programs.arrays import SCHOOLING_INDEX, UNKNOWN_DAY, Batch

BIG = 10**11  # fen (1e9 yuan): larger amounts go to the per-household engine
BIG_AREA = 10**12  # 1/10,000 m² (1e8 m²)
EPOCH = date(1970, 1, 1)
MIN_DAY = (date(1, 1, 1) - EPOCH).days
MAX_DAY = (date(9999, 12, 31) - EPOCH).days


def from_arrow(table: pa.Table) -> Batch:
    """The batch of ``table`` (the flat layout), its rows to take one by one flagged in ``slow``."""
    return _build(table)


# --- column readers ----------------------------------------------------------------------------


def _arr(column: Any) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _np_bool(array: pa.Array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


def _isnull(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return _np_bool(array.is_null())


def _codes(array: pa.Array, values: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(codes int8 with -1 for null, invalid mask for a value outside ``values``)."""
    found = pc.index_in(array, value_set=pa.array(values, pa.string()))
    codes = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int8)
    invalid = (codes < 0) & ~_isnull(array)
    return codes, invalid


def _money(array: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """decimal128 → (integer in units of its scale, known mask, bad mask: negative or too big)."""
    n = len(array)
    known = ~_isnull(array)
    if n == 0:
        return np.zeros(0, np.int64), known, np.zeros(0, bool)
    words = np.frombuffer(array.buffers()[1], dtype="<i8").reshape(-1, 2)
    words = words[array.offset : array.offset + n]
    low = words[:, 0].copy()
    high = words[:, 1]
    bad = known & ((high != 0) | (low < 0))  # negative, or beyond 2**63
    low[~known | bad] = 0
    return low, known, bad


def _bool3(array: pa.Array) -> np.ndarray:
    out = np.full(len(array), -1, dtype=np.int8)
    known = ~_isnull(array)
    if known.any():
        values = np.asarray(array.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        out[known] = values[known]
    return out


def _days(array: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """date32 → (days, known); a date outside 0001-01-01 … 9999-12-31 counts as unknown+bad."""
    known = ~_isnull(array)
    days = np.asarray(
        array.cast(pa.int32()).fill_null(UNKNOWN_DAY).to_numpy(zero_copy_only=False),
        dtype=np.int32,
    )
    return days, known


def _list(array: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray, np.ndarray]:
    """(flattened values, parent index of each value, length per row (0 if null), null mask)."""
    values = pc.list_flatten(array)
    parents = np.asarray(
        pc.list_parent_indices(array).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    lengths = np.asarray(
        pc.list_value_length(array).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    return values, parents, lengths, _isnull(array)


def _fields(struct: pa.Array) -> dict[str, pa.Array]:
    """Children of a struct array (offset and struct nulls applied)."""
    return {struct.type.field(i).name: child for i, child in enumerate(struct.flatten())}  # type: ignore[attr-defined]


def _flag(slow: np.ndarray, parents: np.ndarray, bad: np.ndarray) -> None:
    if bad.any():
        slow[parents[bad]] = True


def _count(parents: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    if mask is None:
        return np.bincount(parents, minlength=n).astype(np.int64)
    return np.bincount(parents[mask], minlength=n).astype(np.int64)


# --- the batch -----------------------------------------------------------------------------------


def _build(table: pa.Table) -> Batch:
    n = table.num_rows
    col = {name: _arr(table.column(name)) for name in table.column_names}
    slow = np.zeros(n, dtype=bool)

    residence, bad = _codes(col["residence"], layout.RESIDENCES)
    slow |= bad
    residence = (residence + 1).astype(np.int8)  # -1 → 0 none, urban → 1, rural → 2

    # programs: null or [] means all
    values, parents, lengths, nulls = _list(col["programs"])
    codes, bad = _codes(values, layout.PROGRAMS)
    _flag(slow, parents, bad | (codes < 0))
    requested = np.zeros((n, len(layout.PROGRAMS)), dtype=bool)
    ok = codes >= 0
    requested[parents[ok], codes[ok]] = True
    requested[lengths == 0] = True

    # members
    members, m_hh, m_len, m_null = _list(col["members"])
    slow |= m_null | (m_len < 1) | (m_len > 50)
    member_null = _isnull(members)
    _flag(slow, m_hh, member_null)
    member = _fields(members)
    ids = member["id"]
    id_len = np.asarray(pc.utf8_length(ids).fill_null(0).to_numpy(zero_copy_only=False))
    _flag(slow, m_hh, (id_len < 1) | (id_len > 64))
    _, bad = _codes(member["relation"], layout.RELATIONS)
    _flag(slow, m_hh, bad | _isnull(member["relation"]))
    birth, known = _days(member["birth_date"])
    _flag(slow, m_hh, ~known | (birth < MIN_DAY) | (birth > MAX_DAY))
    m_cat, bad = _codes(member["disability_category"], layout.DISABILITY_CATEGORIES)
    _flag(slow, m_hh, bad)
    grade_known = ~_isnull(member["disability_grade"])
    m_grade = np.asarray(
        member["disability_grade"].fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    _flag(
        slow, m_hh, (grade_known != (m_cat >= 0)) | (grade_known & ((m_grade < 1) | (m_grade > 4)))
    )
    m_ill = _bool3(member["serious_illness"]) == 1
    m_employed = _bool3(member["employed"]) == 1
    m_school, bad = _codes(member["schooling"], layout.SCHOOLING)
    _flag(slow, m_hh, bad)
    m_school[m_school < 0] = SCHOOLING_INDEX["none"]
    selfcare_known = ~_isnull(member["self_care_failed_items"])
    m_selfcare = np.asarray(
        member["self_care_failed_items"].fill_null(-1).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    _flag(slow, m_hh, selfcare_known & ((m_selfcare < 0) | (m_selfcare > 6)))
    m_supporter = _bool3(member["has_capable_supporter"])
    excluded, bad = _codes(member["excluded"], layout.EXCLUSIONS)
    _flag(slow, m_hh, bad)
    m_excluded = excluded >= 0

    # member ids: unique within a household; income and deductions must name one of them
    encoded = pc.dictionary_encode(ids)
    dictionary = encoded.dictionary
    id_count = max(len(dictionary), 1)
    code = np.asarray(encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
    key = m_hh * id_count + code
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    dup = np.zeros(len(key), dtype=bool)
    if len(key) > 1:
        dup[order[1:]] = sorted_key[1:] == sorted_key[:-1]
    _flag(slow, m_hh, dup)

    def items(name: str, types: tuple[str, ...]) -> tuple[np.ndarray, ...]:
        values, parents, _, nulls = _list(col[name])
        _flag(slow, parents, _isnull(values))
        item = _fields(values)
        kind, bad = _codes(item["type"], types)
        _flag(slow, parents, bad | (kind < 0))
        fen, known, bad = _money(item["monthly"])
        _flag(slow, parents, bad | ~known | (fen >= BIG))
        found = pc.index_in(item["member"], value_set=dictionary)
        mcode = np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), np.int64)
        ikey = parents * id_count + mcode
        pos = np.searchsorted(sorted_key, ikey)
        pos = np.minimum(pos, max(len(sorted_key) - 1, 0))
        hit = (
            (mcode >= 0) & (len(sorted_key) > 0) & (sorted_key[pos] == ikey)
            if len(sorted_key)
            else np.zeros(len(ikey), bool)
        )
        _flag(slow, parents, ~hit)
        member = order[pos] if len(order) else np.zeros(len(ikey), np.int64)
        member = np.where(hit, member, 0)
        return member, kind, fen, nulls, parents

    i_member, i_type, i_fen, income_null, i_hh = items("income", layout.INCOME_TYPES)
    d_member, d_type, d_fen, _, _ = items("deductions", layout.DEDUCTION_TYPES)
    income_known = ~income_null
    # a household's income must stay within the evaluator's integer range
    if len(i_fen):
        total = np.bincount(i_hh, weights=i_fen.astype(np.float64), minlength=n)
        slow |= total >= BIG

    # assets
    assets_known = np.zeros(n, dtype=bool)
    for column in layout.ASSET_COLUMNS:
        assets_known |= ~_isnull(col[column])
    fin, fin_known, bad = _money(col["assets_financial"])
    slow |= bad | (fin >= BIG)
    cap, cap_known, bad = _money(col["assets_business_capital"])
    slow |= bad | (cap >= BIG)
    comm = _bool3(col["assets_commercial_property"])
    values, parents, _, veh_null = _list(col["assets_vehicles"])
    kinds, bad = _codes(values, layout.VEHICLE_KINDS)
    _flag(slow, parents, bad | (kinds < 0))
    veh_mask = np.zeros(n, dtype=np.int32)
    for kind in range(len(layout.VEHICLE_KINDS)):
        hit = kinds == kind
        if hit.any():
            veh_mask[np.unique(parents[hit])] |= 1 << kind
    values, parents, _, houses_null = _list(col["assets_houses"])
    _flag(slow, parents, _isnull(values))
    house = _fields(values)
    area, area_known, bad = _money(house["area_m2"])
    _flag(slow, parents, bad | (area >= BIG_AREA))
    dil = _bool3(house["dilapidated"])
    counted = dil == 0
    homes_counted = _count(parents, counted, n)
    homes_dil_unknown = _count(parents, dil == -1, n)
    homes_area_unknown = _count(parents, counted & ~area_known, n)
    homes_area = np.zeros(n, dtype=np.int64)
    use = counted & area_known
    np.add.at(homes_area, parents[use], area[use])
    slow |= homes_area >= BIG_AREA

    # rigid expenditure of the last 12 months: known when all four kinds are given
    rigid_known = np.ones(n, dtype=bool)
    rigid_total = np.zeros(n, dtype=np.int64)
    for column in layout.RIGID_COLUMNS:
        fen, known, bad = _money(col[column])
        slow |= bad | (fen >= BIG)
        rigid_known &= known
        rigid_total += fen

    # current benefit
    present = np.zeros(n, dtype=bool)
    for column in layout.BENEFIT_COLUMNS:
        present |= ~_isnull(col[column])
    prog, bad = _codes(col["benefit_program"], layout.BENEFIT_PROGRAMS)
    slow |= bad | (present & (prog < 0))
    ben_prog = (prog + 1).astype(np.int8)
    ben_amount, ben_amount_known, bad = _money(col["benefit_monthly_amount"])
    slow |= bad | (ben_amount >= BIG)
    for column in ("benefit_since", "benefit_exit_started"):
        days, known = _days(col[column])
        slow |= known & ((days < MIN_DAY) | (days > MAX_DAY))
    ben_exit, _ = _days(col["benefit_exit_started"])
    ben_rise = _bool3(col["benefit_income_rise_from_employment"])

    # emergency
    present = np.zeros(n, dtype=bool)
    for column in layout.EMERGENCY_COLUMNS:
        present |= ~_isnull(col[column])
    kind, bad = _codes(col["emergency_kind"], layout.EMERGENCY_KINDS)
    slow |= bad | (present & (kind < 0))
    em_kind = (kind + 1).astype(np.int8)
    em_cause, bad = _codes(col["emergency_cause"], layout.EMERGENCY_CAUSES)
    slow |= bad
    days, known = _days(col["emergency_occurred_on"])
    slow |= known & ((days < MIN_DAY) | (days > MAX_DAY))
    em_need, em_need_known, bad = _money(col["emergency_assessed_need"])
    slow |= bad | (em_need >= BIG)
    em_assisted = _bool3(col["emergency_already_assisted"])

    # a household without counted members: the engine decides it (edge cases of size 0)
    counted_members = _count(m_hh, ~m_excluded, n)
    slow |= counted_members == 0
    flag_unread(col, UNREAD, slow)

    return Batch(
        count=n,
        ids=col["id"],
        slow=slow,
        residence=residence,
        requested=requested,
        income_known=income_known,
        assets_known=assets_known,
        fin=fin,
        fin_known=fin_known,
        veh_known=~veh_null,
        veh_mask=veh_mask,
        houses_known=~houses_null,
        homes_counted=homes_counted,
        homes_dil_unknown=homes_dil_unknown,
        homes_area=homes_area,
        homes_area_unknown=homes_area_unknown,
        comm=comm,
        cap=cap,
        cap_known=cap_known,
        rigid_known=rigid_known,
        rigid_total=rigid_total,
        ben_prog=ben_prog,
        ben_amount=ben_amount,
        ben_amount_known=ben_amount_known,
        ben_exit=ben_exit,
        ben_rise=ben_rise,
        em_kind=em_kind,
        em_cause=em_cause,
        em_need=em_need,
        em_need_known=em_need_known,
        em_assisted=em_assisted,
        m_hh=m_hh,
        m_birth=birth,
        m_cat=m_cat,
        m_grade=m_grade,
        m_ill=m_ill,
        m_employed=m_employed,
        m_school=m_school,
        m_selfcare=m_selfcare,
        m_supporter=m_supporter,
        m_excluded=m_excluded,
        i_member=i_member,
        i_type=i_type,
        i_fen=i_fen,
        d_member=d_member,
        d_type=d_type,
        d_fen=d_fen,
    )


# --- facts no program reads: checked from the contract's shape -----------------------------------

# Every fact ``_build`` reads and checks, as (list column, struct field) or ("", column).
READ = frozenset(
    {
        *(("", c) for c in ("id", "jurisdiction", "as_of", "residence", "programs", "members")),
        *(("", c) for c in ("income", "deductions", "assets_vehicles", "assets_houses")),
        *(("", c) for c in layout.ASSET_COLUMNS),
        *(("", c) for c in layout.RIGID_COLUMNS),
        *(("", c) for c in layout.BENEFIT_COLUMNS),
        *(("", c) for c in layout.EMERGENCY_COLUMNS),
        *(("members", c) for c in ("id", "relation", "birth_date", "disability_category")),
        *(("members", c) for c in ("disability_grade", "serious_illness", "employed")),
        *(("members", c) for c in ("schooling", "self_care_failed_items", "excluded")),
        ("members", "has_capable_supporter"),
        *((items, c) for items in ("income", "deductions") for c in ("member", "type", "monthly")),
        ("assets_houses", "area_m2"),
        ("assets_houses", "dilapidated"),
    }
)  # jurisdiction and as_of are checked with the run's defaults (``chunks``)


def leaves(columns: tuple[layout.Column, ...]) -> tuple[tuple[str, str, Fact], ...]:
    """Every fact of a layout as (list column, struct field, fact) or ("", column, fact)."""
    out: list[tuple[str, str, Fact]] = []
    for entry in columns:
        item = entry.fact.item
        struct = item is not None and item.kind == "object"
        if struct and layout.single_field(entry.fact) is None:
            assert item is not None
            out += [(entry.name, field.name, field.fact) for field in layout.flatten(item)]
            continue
        out.append(("", entry.name, entry.fact))
    return tuple(out)


UNREAD = tuple(leaf for leaf in leaves(layout.FACT_COLUMNS) if leaf[:2] not in READ)
"""The layout's facts no program reads (empty while every fact is read)."""


def _bad_values(array: pa.Array, fact: Fact) -> np.ndarray:
    """Where a value breaks the contract's constraints for ``fact`` (a null where it is required
    included); a superset is enough: flagged rows are validated by the contract."""
    nulls = _isnull(array)
    bad = nulls & (fact.required and not fact.nullable)
    if fact.kind == "enum":
        _, invalid = _codes(array, fact.values)
        return bad | invalid
    if fact.kind == "whole":
        values = np.asarray(array.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        low = fact.ge if fact.ge is not None else -(2**15)
        high = fact.le if fact.le is not None else 2**15 - 1
        return bad | (~nulls & ((values < low) | (values > high)))
    if fact.kind == "decimal":
        scaled, _, out_of_range = _money(array)
        return bad | out_of_range | (scaled >= 10 ** (fact.digits + fact.places))
    if fact.kind == "date":
        days, known = _days(array)
        return bad | (known & ((days < MIN_DAY) | (days > MAX_DAY)))
    if fact.kind == "string":
        lengths = np.asarray(pc.utf8_length(array).fill_null(0).to_numpy(zero_copy_only=False))
        low, high = fact.min_length or 0, fact.max_length or 2**31
        return bad | (~nulls & ((lengths < low) | (lengths > high)))
    if fact.kind == "list":  # a list of plain values: flag any row holding one (rare: be safe)
        return ~nulls
    return bad  # a flag: any boolean is valid


def flag_unread(
    col: dict[str, pa.Array], unread: tuple[tuple[str, str, Fact], ...], slow: np.ndarray
) -> None:
    """Flags the rows whose facts that no program reads break the contract's constraints."""
    for list_column, name, fact in unread:
        if not list_column:
            slow |= _bad_values(col[name], fact)
            continue
        values, parents, _, _ = _list(col[list_column])
        _flag(slow, parents, _bad_values(_fields(values)[name], fact))

"""Reading a caseload file in chunks, and deciding one chunk under one or more bundles.

A chunk is a list of input rows with their line numbers (JSONL and CSV: the line in the file,
1-based; Parquet: the row number, 1-based). ``decide_chunk`` turns it into one result table per
bundle plus the chunk's errors (a row the contract refuses), in input order.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from service.bilingual import BilingualError
from service.caseload import layout
from service.caseload.canonical import flat_row
from service.caseload.columns import EPOCH, from_arrow
from service.caseload.reference import FIELDS, decision_of
from service.caseload.scenarios import (
    RecordCounts,
    RecordDefaults,
    RecordRefused,
    Scenarios,
    missing_problem,
)
from service.caseload.vector import evaluate_batch
from service.contract.errors import problem
from service.engine import Bundle, RequestRejected, evaluate
from service.engine.decider import Decider
from service.engine.programs.arrays import BASES, STATUSES, NotExact

try:  # a faster parser where installed (the HTTP service uses it); same JSON either way
    from orjson import loads as _loads
except ImportError:  # pragma: no cover
    _loads = json.loads

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
}


class CaseloadFileError(BilingualError):
    """The file as a whole cannot be read (unknown format, unknown column, wrong column type)."""


def file_format(path: Path | str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise CaseloadFileError(
            f"{path}：无法识别的个案文件格式 {suffix!r}（请用 .jsonl、.parquet 或 .csv）",
            f"{path}: unknown caseload format {suffix!r} (use .jsonl, .parquet or .csv)",
        )
    return FORMATS[suffix]


def _unknown_columns(where: str, unknown: list[str]) -> CaseloadFileError:
    names = ", ".join(unknown)
    return CaseloadFileError(f"{where}未知的列：{names}", f"{where}unknown column(s): {names}")


@dataclass
class Chunk:
    index: int
    kind: str  # "jsonl" (payload: list of (line, text)), "csv" (list of (line, record)),
    # "table" (payload: an Arrow table in the flat layout, lines: row numbers)
    payload: Any
    lines: list[int] = field(default_factory=list)


# --- reading -------------------------------------------------------------------------------------


def iter_chunks(path: Path, size: int) -> Iterator[Chunk]:
    kind = file_format(path)
    if kind == "parquet":
        yield from _parquet_chunks(path, size)
    elif kind == "jsonl":
        yield from _jsonl_chunks(path, size)
    else:
        yield from _csv_chunks(path, size)


def conform(table: pa.Table) -> pa.Table:
    """A table cast to the flat layout: missing columns null, unknown ones refused."""
    schema = layout.arrow_schema()
    unknown = [name for name in table.column_names if name not in schema.names]
    if unknown:
        raise _unknown_columns("", unknown)
    if "members" not in table.column_names:
        raise CaseloadFileError("缺少必需的列 members", "the column 'members' is required")
    columns = []
    for expected in schema:
        if expected.name in table.column_names:
            column = table.column(expected.name)
            if column.type != expected.type:
                try:
                    column = column.cast(expected.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                    raise CaseloadFileError(
                        f"列 {expected.name} 的类型为 {column.type}，应为 {expected.type}",
                        f"column {expected.name!r} has type {column.type}, "
                        f"expected {expected.type}: {error}",
                    ) from None
            columns.append(column)
        else:
            columns.append(pa.nulls(table.num_rows, expected.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _parquet_chunks(path: Path, size: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    names = handle.schema_arrow.names
    unknown = [name for name in names if name not in layout.COLUMNS]
    if unknown:
        raise _unknown_columns(f"{path}: ", unknown)
    row = 0
    for index, batch in enumerate(handle.iter_batches(batch_size=size)):
        table = pa.Table.from_batches([batch])
        lines = list(range(row + 1, row + table.num_rows + 1))
        row += table.num_rows
        yield Chunk(index, "table", table, lines)


def _jsonl_chunks(path: Path, size: int) -> Iterator[Chunk]:
    with path.open("rb") as handle:
        block: list[tuple[int, bytes]] = []
        index = 0
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            block.append((number, line))
            if len(block) >= size:
                yield Chunk(index, "jsonl", block, [number for number, _ in block])
                index += 1
                block = []
        if block:
            yield Chunk(index, "jsonl", block, [number for number, _ in block])


def _csv_chunks(path: Path, size: int) -> Iterator[Chunk]:
    # utf-8-sig: a file saved by Excel ("CSV UTF-8") starts with a byte-order mark
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        unknown = [name for name in reader.fieldnames or [] if name not in layout.COLUMNS]
        if unknown:
            raise _unknown_columns(f"{path}: ", unknown)
        block: list[tuple[int, dict[str, Any]]] = []
        index = 0
        start = reader.line_num + 1
        for record in reader:
            block.append((start, record))
            start = reader.line_num + 1
            if len(block) >= size:
                yield Chunk(index, "csv", block, [number for number, _ in block])
                index += 1
                block = []
        if block:
            yield Chunk(index, "csv", block, [number for number, _ in block])


# --- deciding ------------------------------------------------------------------------------------

_DECIDER: Decider | None = None


def _parser() -> Decider:
    global _DECIDER
    if _DECIDER is None:
        from service.engine.bundle import RuleBase

        # Parsing needs no rules: an empty rule base keeps workers from loading them twice.
        _DECIDER = Decider(rule_base=RuleBase(root=Path("."), jurisdictions={}, versions={}))
    return _DECIDER


def _error(line: int, household_id: Any, problems: list[dict[str, str]]) -> dict[str, Any]:
    return {"line": line, "id": household_id, "errors": problems}


# Parsed in place of a jurisdiction or date a record lacks (the contract requires the one and
# would put today for the other); never decided: the row keeps its missing value.
_PLACEHOLDER_JURISDICTION = "-"
_PLACEHOLDER_AS_OF = date(2000, 1, 1)


def _rows_from_text(
    chunk: Chunk,
) -> tuple[list[dict[str, Any]], list[int], list[dict[str, Any]]]:
    """JSONL/CSV → (valid flat rows, their lines, errors). Each request is checked by the contract.

    A row keeps the record's own jurisdiction and date, or null where the record has none."""
    engine = _parser()
    rows, lines, errors = [], [], []
    for line, item in chunk.payload:
        household_id: Any = None
        no_jurisdiction = no_as_of = False
        try:
            if chunk.kind == "jsonl":
                data = _loads(item)
                if isinstance(data, dict) and "id" in data:
                    household_id = data.pop("id")
                    if household_id is not None and not isinstance(household_id, str | int):
                        raise RequestRejected(
                            [problem("id", "编号应为字符串", "id must be a string", "string_type")]
                        )
                row = flat_row(data, None if household_id is None else str(household_id))
                if row is not None:  # canonical form: the contract surely accepts it
                    rows.append(row)
                    lines.append(line)
                    continue
                if isinstance(data, dict):
                    no_jurisdiction = "jurisdiction" not in data
                    no_as_of = "as_of" not in data
                    if no_jurisdiction:
                        data["jurisdiction"] = _PLACEHOLDER_JURISDICTION
                    if no_as_of:
                        data["as_of"] = _PLACEHOLDER_AS_OF.isoformat()
            else:
                row = layout.csv_to_row(item)
                household_id = row.get("id")
                no_jurisdiction = row.get("jurisdiction") is None
                no_as_of = row.get("as_of") is None
                data = layout.row_to_request(
                    row,
                    _PLACEHOLDER_JURISDICTION if no_jurisdiction else None,
                    _PLACEHOLDER_AS_OF if no_as_of else None,
                )
            request = engine.parse(data)
        except json.JSONDecodeError as error:
            errors.append(
                _error(
                    line,
                    None,
                    [
                        problem(
                            "",
                            f"不是有效的 JSON（第 {error.colno} 个字符处）",
                            f"not valid JSON: {error.msg} (character {error.colno})",
                            "json_invalid",
                        )
                    ],
                )
            )
            continue
        except layout.CellError as error:
            errors.append(
                _error(
                    line,
                    household_id,
                    [problem(error.column, error.zh, error.en, "csv_cell")],
                )
            )
            continue
        except RequestRejected as error:
            errors.append(_error(line, household_id, error.problems))
            continue
        row = layout.request_to_row(
            request.model_dump(mode="json"), None if household_id is None else str(household_id)
        )
        if no_jurisdiction:
            row["jurisdiction"] = None
        if no_as_of:
            row["as_of"] = None
        rows.append(row)
        lines.append(line)
    return rows, lines, errors


def _record_values(
    table: pa.Table, defaults: RecordDefaults
) -> tuple[pa.Array, pa.Array, RecordCounts]:
    """Each row's jurisdiction and date as decided (null: none): its own, or the default where
    it has none, or the default everywhere if forced; and how many records were overridden or
    took the default, and how many kept their own value where it differs from the default."""
    counts = RecordCounts()
    row_count = table.num_rows
    decided = []
    differs = []
    for name, default, forced in (
        ("jurisdiction", defaults.jurisdiction, defaults.force_jurisdiction),
        ("as_of", defaults.as_of, defaults.force_as_of),
    ):
        own = table.column(name).combine_chunks()
        if default is None:
            decided.append(own)
            continue
        scalar = pa.scalar(default, own.type)
        other = pc.fill_null(pc.not_equal(own, scalar), False)
        if forced:
            setattr(counts, f"overridden_{name}", pc.sum(other).as_py() or 0)
            differs.append(other.to_numpy(zero_copy_only=False))
            decided.append(pc.fill_null(pa.nulls(row_count, own.type), scalar))
        else:
            setattr(counts, f"defaulted_{name}", own.null_count)
            setattr(counts, f"kept_{name}", pc.sum(other).as_py() or 0)
            decided.append(pc.fill_null(own, scalar))
    if differs:
        counts.overridden_records = int(np.logical_or.reduce(differs).sum())
    return decided[0], decided[1], counts


@dataclass
class ChunkOutcome:
    tables: list[pa.Table]  # one per scenario, rows in input order, refused rows left out
    errors: list[dict[str, Any]]  # refused rows, by line
    counts: RecordCounts  # records whose jurisdiction or date was overridden or defaulted


_NO_DAY = -(2**31)


def decide_chunk(chunk: Chunk, scenarios: Scenarios) -> ChunkOutcome:
    """Each row decided under the bundle(s) of its own jurisdiction and date (see
    ``scenarios``): one result table per scenario, and the errors."""
    errors: list[dict[str, Any]] = []
    if chunk.kind == "table":
        table = conform(chunk.payload)
        lines = chunk.lines
    else:
        rows, lines, errors = _rows_from_text(chunk)
        table = pa.Table.from_pylist(rows, schema=layout.arrow_schema())
    row_count = table.num_rows
    jurisdictions, dates, counts = _record_values(table, scenarios.defaults)

    # Rows sharing their bundles are decided together: a caseload has few distinct pairs of
    # jurisdiction and date, so the pairs are found on integer keys, then resolved once each.
    encoded = jurisdictions.dictionary_encode()
    names = encoded.dictionary.to_pylist()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    days = pc.fill_null(pc.cast(dates, pa.int32()), _NO_DAY).to_numpy(zero_copy_only=False)
    days = days.astype(np.int64)
    missing = (codes < 0) | (days == _NO_DAY)
    keys = (codes << 32) | (days - _NO_DAY)
    pairs, inverse = np.unique(np.where(missing, -1, keys), return_inverse=True)
    inverse = inverse.reshape(-1)
    groups: list[list[Bundle]] = []
    group_index: dict[tuple[str, ...], int] = {}
    pair_group = np.full(len(pairs), -1, dtype=np.int32)
    pair_problems: dict[int, list[dict[str, str]]] = {}
    for pair, key in enumerate(pairs.tolist()):
        if key < 0:
            continue
        jurisdiction = names[key >> 32]
        on = EPOCH + timedelta(days=(key & 0xFFFFFFFF) + _NO_DAY)
        try:
            bundles = scenarios.bundles(jurisdiction, on)
        except RecordRefused as refused:
            pair_problems[pair] = refused.problems
            continue
        shas = tuple(bundle.sha256 for bundle in bundles)
        if shas not in group_index:
            group_index[shas] = len(groups)
            groups.append(bundles)
        pair_group[pair] = group_index[shas]
    group_of = pair_group[inverse]
    keep = group_of >= 0
    for position in np.flatnonzero(~keep).tolist():
        if missing[position]:
            problems = []
            if codes[position] < 0:
                problems.append(missing_problem("jurisdiction"))
            if days[position] == _NO_DAY:
                problems.append(missing_problem("as_of"))
        else:
            problems = pair_problems[int(inverse[position])]
        errors.append(_error(lines[position], _id_at(table, position), problems))

    columns = [
        {field_name: np.full(row_count, -1, dtype=np.int64) for field_name in FIELDS}
        for _ in range(scenarios.count)
    ]
    for group, bundles in enumerate(groups):
        every = len(groups) == 1 and bool(keep.all())
        positions = np.arange(row_count) if every else np.flatnonzero(group_of == group)
        take = pa.array(positions)
        decided, refused = _decide_group(
            table if every else table.take(take),
            bundles,
            jurisdictions if every else jurisdictions.take(take),
            dates if every else dates.take(take),
            days[positions],
        )
        for scenario, fields in enumerate(decided):
            for field_name, values in fields.items():
                columns[scenario][field_name][positions] = values
        for local, problems in refused.items():
            keep[positions[local]] = False
            errors.append(
                _error(lines[positions[local]], _id_at(table, positions[local]), problems)
            )
    ids = table.column("id").combine_chunks()
    results = [
        result_table(
            columns[scenario],
            ids,
            lines,
            keep,
            jurisdictions,
            dates,
            group_of,
            [group_columns[scenario] for group_columns in groups],
        )
        for scenario in range(scenarios.count)
    ]
    errors.sort(key=lambda error: error["line"])
    return ChunkOutcome(results, errors, counts)


def _id_at(table: pa.Table, position: int) -> Any:
    return table.column("id")[int(position)].as_py()


def _decide_group(
    table: pa.Table,
    bundles: list[Bundle],
    jurisdictions: pa.Array,
    dates: pa.Array,
    days: np.ndarray,
) -> tuple[list[dict[str, np.ndarray]], dict[int, list[dict[str, str]]]]:
    """Rows that share their bundles: the decision fields per scenario, and the rows refused
    (by position in ``table``) with their problems."""
    row_count = table.num_rows
    batch = from_arrow(table)
    refused: dict[int, list[dict[str, str]]] = {}
    slow = np.flatnonzero(batch.slow)
    slow_decisions: dict[int, list[tuple[int, ...]]] = {}

    def request_at(position: int, row: dict[str, Any]) -> Any:
        jurisdiction, on = jurisdictions[position].as_py(), dates[position].as_py()
        return engine.parse(layout.row_to_request(row, jurisdiction, on))

    engine = _parser()
    if len(slow):
        subset = table.take(pa.array(slow)).to_pylist()
        for position, row in zip(slow.tolist(), subset, strict=True):
            try:
                request = request_at(position, row)
            except RequestRejected as error:
                refused[position] = error.problems
                continue
            try:
                slow_decisions[position] = [_engine_decision(request, bundle) for bundle in bundles]
            except EngineFault as error:
                refused[position] = [
                    problem("", "引擎无法评估此户", f"engine error: {error}", "engine_error")
                ]
    results = []
    for scenario, bundle in enumerate(bundles):
        try:
            decisions = evaluate_batch(batch, bundle, days)
            columns = {
                field_name: np.array(getattr(decisions, field_name), dtype=np.int64)
                for field_name in FIELDS
            }
        except NotExact:
            columns = {field_name: np.full(row_count, -1, dtype=np.int64) for field_name in FIELDS}
            fast = np.flatnonzero(~batch.slow)
            rows = table.take(pa.array(fast)).to_pylist()
            for position, row in zip(fast.tolist(), rows, strict=True):
                request = request_at(position, row)
                for field_name, value in zip(
                    FIELDS, _engine_decision(request, bundle), strict=True
                ):
                    columns[field_name][position] = value
        for position, decided in slow_decisions.items():
            for field_name, value in zip(FIELDS, decided[scenario], strict=True):
                columns[field_name][position] = value
        results.append(columns)
    return results, refused


def _engine_decision(request: Any, bundle: Bundle) -> tuple[int, ...]:
    try:
        return decision_of(evaluate(request, bundle))
    except Exception as error:  # an engine fault on one household must not stop the run
        raise EngineFault(str(error)) from error


class EngineFault(Exception):
    pass


# --- result tables -------------------------------------------------------------------------------

_STATUS_DICTIONARY = pa.array(STATUSES, pa.string())
_BASIS_DICTIONARY = pa.array(BASES[1:], pa.string())


def _money_array(fen: np.ndarray) -> pa.Array:
    """int64 fen (-1: null) → decimal128(15, 2), built from its buffers (exact, no floats)."""
    count = len(fen)
    valid = fen >= 0
    words = np.zeros((count, 2), dtype="<i8")
    words[:, 0] = np.where(valid, fen, 0)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.Array.from_buffers(
        pa.decimal128(15, 2),
        count,
        [bitmap, pa.py_buffer(words.tobytes())],
        null_count=int(count - valid.sum()),
    )


def _status_array(codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), _STATUS_DICTIONARY)


def result_table(
    columns: dict[str, np.ndarray],
    ids: Any,
    lines: list[int],
    keep: np.ndarray,
    jurisdictions: pa.Array,
    dates: pa.Array,
    group_of: np.ndarray,
    bundles: list[Bundle],
) -> pa.Table:
    """The result rows of one scenario (the rows ``keep`` marks); ``group_of`` gives each row's
    bundle in ``bundles``."""
    line_array = np.asarray(lines, dtype=np.int64)
    if not keep.all():
        kept = np.flatnonzero(keep)
        columns = {field_name: values[kept] for field_name, values in columns.items()}
        line_array, group_of = line_array[kept], group_of[kept]
        taken = pa.array(kept)
        ids, jurisdictions, dates = ids.take(taken), jurisdictions.take(taken), dates.take(taken)
    id_array = ids
    if id_array.null_count:
        fallback = pa.array([str(number) for number in line_array], pa.string())
        id_array = pa.compute.if_else(id_array.is_null(), fallback, id_array)
    basis = columns["dibao_basis"].astype(np.int8) - 1
    basis_array = pa.DictionaryArray.from_arrays(pa.array(basis, mask=basis < 0), _BASIS_DICTIONARY)
    unassigned = group_of < 0
    group_indices = pa.array(np.where(unassigned, 0, group_of), mask=unassigned)
    arrays = {
        "line": pa.array(line_array),
        "id": id_array,
        "jurisdiction": jurisdictions.dictionary_encode(),
        "as_of": dates,
        "bundle_version": pa.array([bundle.version for bundle in bundles], pa.date32()).take(
            group_indices
        ),
        "bundle_sha256": pa.DictionaryArray.from_arrays(
            group_indices, pa.array([bundle.sha256 for bundle in bundles], pa.string())
        ),
        "tekun_status": _status_array(columns["tekun_status"]),
        "tekun_members": pa.array(columns["tekun_members"].astype(np.int16)),
        "tekun_amount": _money_array(columns["tekun_amount"]),
        "dibao_status": _status_array(columns["dibao_status"]),
        "dibao_basis": basis_array,
        "dibao_members": pa.array(columns["dibao_members"].astype(np.int16)),
        "dibao_amount": _money_array(columns["dibao_amount"]),
        "marginal_status": _status_array(columns["marginal_status"]),
        "rigid_expenditure_status": _status_array(columns["rigid_expenditure_status"]),
        "temporary_status": _status_array(columns["temporary_status"]),
        "temporary_amount": _money_array(columns["temporary_amount"]),
        "per_capita_income": _money_array(columns["per_capita_income"]),
        "standard": _money_array(columns["standard"]),
    }
    return pa.Table.from_pydict(arrays, schema=layout.result_schema())


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def table_to_jsonl(table: pa.Table) -> bytes:
    out = io.StringIO()
    for row in table.to_pylist():
        row = {name: _plain(value) for name, value in row.items()}
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    return out.getvalue().encode("utf-8")


def table_to_csv(table: pa.Table) -> bytes:
    """CSV for a spreadsheet: UTF-8 with a byte-order mark (so Excel reads Chinese text),
    a header row, money as decimal text, dates as YYYY-MM-DD, an empty cell for null."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.column_names)
    for row in table.to_pylist():
        writer.writerow(["" if value is None else _plain(value) for value in row.values()])
    return out.getvalue().encode("utf-8-sig")

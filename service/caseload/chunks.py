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
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from service.caseload import layout
from service.caseload.canonical import flat_row
from service.caseload.columns import EPOCH, Batch
from service.caseload.reference import FIELDS, decision_of
from service.caseload.vector import BASIS_LABELS, STATUS_LABELS, NotExact, evaluate_batch
from service.contract.errors import problem
from service.engine import Bundle, RequestRejected, evaluate
from service.engine.service import Engine

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


class CaseloadFileError(Exception):
    """The file as a whole cannot be read (unknown format, unknown column, wrong column type)."""


def file_format(path: Path | str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise CaseloadFileError(
            f"{path}: unknown caseload format {suffix!r} (use .jsonl, .parquet or .csv)"
        )
    return FORMATS[suffix]


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
    unknown = [c for c in table.column_names if c not in schema.names]
    if unknown:
        raise CaseloadFileError(f"unknown column(s): {', '.join(unknown)}")
    if "members" not in table.column_names:
        raise CaseloadFileError("the column 'members' is required")
    columns = []
    for f in schema:
        if f.name in table.column_names:
            column = table.column(f.name)
            if column.type != f.type:
                try:
                    column = column.cast(f.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
                    raise CaseloadFileError(
                        f"column {f.name!r} has type {column.type}, expected {f.type}: {error}"
                    ) from None
            columns.append(column)
        else:
            columns.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _parquet_chunks(path: Path, size: int) -> Iterator[Chunk]:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    names = handle.schema_arrow.names
    unknown = [c for c in names if c not in layout.COLUMNS]
    if unknown:
        raise CaseloadFileError(f"{path}: unknown column(s): {', '.join(unknown)}")
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
                yield Chunk(index, "jsonl", block, [n for n, _ in block])
                index += 1
                block = []
        if block:
            yield Chunk(index, "jsonl", block, [n for n, _ in block])


def _csv_chunks(path: Path, size: int) -> Iterator[Chunk]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        unknown = [c for c in reader.fieldnames or [] if c not in layout.COLUMNS]
        if unknown:
            raise CaseloadFileError(f"{path}: unknown column(s): {', '.join(unknown)}")
        block: list[tuple[int, dict[str, Any]]] = []
        index = 0
        start = reader.line_num + 1
        for record in reader:
            block.append((start, record))
            start = reader.line_num + 1
            if len(block) >= size:
                yield Chunk(index, "csv", block, [n for n, _ in block])
                index += 1
                block = []
        if block:
            yield Chunk(index, "csv", block, [n for n, _ in block])


# --- deciding ------------------------------------------------------------------------------------

_ENGINE: Engine | None = None


def _parser() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        from service.engine.bundle import RuleBase

        # Parsing needs no rules: an empty rule base keeps workers from loading them twice.
        _ENGINE = Engine(rule_base=RuleBase(root=Path("."), jurisdictions={}, versions={}))
    return _ENGINE


def _error(line: int, household_id: Any, problems: list[dict[str, str]]) -> dict[str, Any]:
    return {"line": line, "id": household_id, "errors": problems}


def _rows_from_text(
    chunk: Chunk,
) -> tuple[list[dict[str, Any]], list[int], list[dict[str, Any]]]:
    """JSONL/CSV → (valid flat rows, their lines, errors). Each request is checked by the contract."""
    engine = _parser()
    rows, lines, errors = [], [], []
    for line, item in chunk.payload:
        household_id: Any = None
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
            else:
                row = layout.csv_to_row(item)
                household_id = row.get("id")
                data = layout.row_to_request(row, jurisdiction="-", as_of=date(2000, 1, 1))
            request = engine.parse(data)
        except json.JSONDecodeError as error:
            errors.append(
                _error(
                    line,
                    None,
                    [
                        problem(
                            "", "不是有效的 JSON", f"not valid JSON: {error.msg}", "json_invalid"
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
                    [problem(error.column, "单元格格式错误", str(error), "csv_cell")],
                )
            )
            continue
        except RequestRejected as error:
            errors.append(_error(line, household_id, error.problems))
            continue
        row = layout.request_to_row(
            request.model_dump(mode="json"), None if household_id is None else str(household_id)
        )
        rows.append(row)
        lines.append(line)
    return rows, lines, errors


def decide_chunk(
    chunk: Chunk, bundles: list[Bundle], jurisdiction: str, as_of: date
) -> tuple[list[pa.Table], list[dict[str, Any]]]:
    """One result table per bundle (rows in input order, refused rows left out) and the errors."""
    errors: list[dict[str, Any]] = []
    if chunk.kind == "table":
        table = conform(chunk.payload)
        lines = chunk.lines
    else:
        rows, lines, errors = _rows_from_text(chunk)
        table = pa.Table.from_pylist(rows, schema=layout.arrow_schema())
    n = table.num_rows
    batch = Batch.from_arrow(table)
    day = (as_of - EPOCH).days
    results = []
    slow = np.flatnonzero(batch.slow)
    keep = np.ones(n, dtype=bool)
    slow_decisions: dict[int, list[tuple[int, ...]]] = {}
    if len(slow):
        engine = _parser()
        subset = table.take(pa.array(slow)).to_pylist()
        for position, row in zip(slow.tolist(), subset, strict=True):
            try:
                request = engine.parse(layout.row_to_request(row, jurisdiction, as_of))
            except RequestRejected as error:
                keep[position] = False
                errors.append(_error(lines[position], row.get("id"), error.problems))
                continue
            try:
                slow_decisions[position] = [_engine_decision(request, b) for b in bundles]
            except EngineFault as error:
                keep[position] = False
                errors.append(
                    _error(
                        lines[position],
                        row.get("id"),
                        [problem("", "引擎无法评估此户", f"engine error: {error}", "engine_error")],
                    )
                )
    for scenario, bundle in enumerate(bundles):
        try:
            decisions = evaluate_batch(batch, bundle, np.full(n, day))
            columns = {f: np.array(getattr(decisions, f), dtype=np.int64) for f in FIELDS}
        except NotExact:
            columns = {f: np.full(n, -1, dtype=np.int64) for f in FIELDS}
            engine = _parser()
            fast = np.flatnonzero(~batch.slow)
            rows = table.take(pa.array(fast)).to_pylist()
            for position, row in zip(fast.tolist(), rows, strict=True):
                request = engine.parse(layout.row_to_request(row, jurisdiction, as_of))
                for f, value in zip(FIELDS, _engine_decision(request, bundle), strict=True):
                    columns[f][position] = value
        for position, decided in slow_decisions.items():
            for f, value in zip(FIELDS, decided[scenario], strict=True):
                columns[f][position] = value
        results.append(result_table(columns, batch.ids, lines, keep))
    errors.sort(key=lambda e: e["line"])
    return results, errors


def _engine_decision(request: Any, bundle: Bundle) -> tuple[int, ...]:
    try:
        return decision_of(evaluate(request, bundle))
    except Exception as error:  # an engine fault on one household must not stop the run
        raise EngineFault(str(error)) from error


class EngineFault(Exception):
    pass


# --- result tables -------------------------------------------------------------------------------

_STATUS_DICTIONARY = pa.array(STATUS_LABELS, pa.string())
_BASIS_DICTIONARY = pa.array(BASIS_LABELS[1:], pa.string())


def _money_array(fen: np.ndarray) -> pa.Array:
    """int64 fen (-1: null) → decimal128(15, 2), built from its buffers (exact, no floats)."""
    n = len(fen)
    valid = fen >= 0
    words = np.zeros((n, 2), dtype="<i8")
    words[:, 0] = np.where(valid, fen, 0)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.Array.from_buffers(
        pa.decimal128(15, 2),
        n,
        [bitmap, pa.py_buffer(words.tobytes())],
        null_count=int(n - valid.sum()),
    )


def _status_array(codes: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), _STATUS_DICTIONARY)


def result_table(
    columns: dict[str, np.ndarray], ids: Any, lines: list[int], keep: np.ndarray
) -> pa.Table:
    line_array = np.asarray(lines, dtype=np.int64)
    id_array = ids
    if id_array.null_count:
        fallback = pa.array([str(x) for x in line_array], pa.string())
        id_array = pa.compute.if_else(id_array.is_null(), fallback, id_array)
    basis = columns["dibao_basis"].astype(np.int8) - 1
    basis_array = pa.DictionaryArray.from_arrays(pa.array(basis, mask=basis < 0), _BASIS_DICTIONARY)
    arrays = {
        "line": pa.array(line_array),
        "id": id_array,
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
    table = pa.Table.from_pydict(arrays, schema=layout.result_schema())
    if not keep.all():
        table = table.filter(pa.array(keep))
    return table


def table_to_jsonl(table: pa.Table) -> bytes:
    out = io.StringIO()
    for row in table.to_pylist():
        for key in layout.RESULT_MONEY_COLUMNS:
            if row[key] is not None:
                row[key] = format(row[key], "f")
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    return out.getvalue().encode("utf-8")

"""Running a caseload through the rules: chunks in parallel, resumable, with a summary.

Work is cut into chunks (``--chunk-size`` households). Each chunk's results are written to a part
file in ``<out>.parts/`` under a manifest that names the input (path, size, modification time),
jurisdiction, date and bundle hashes. A run that stops (Ctrl-C, a crash, a reboot) and is started
again with the same arguments keeps the parts already written and does only the rest; the final
results file is written once, at the end, by an atomic rename, so it never holds a row twice.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from service.caseload import layout
from service.caseload.chunks import Chunk, decide_chunk, file_format, iter_chunks, table_to_jsonl
from service.engine import Bundle

MANIFEST_VERSION = 1
DEFAULT_CHUNK = 25_000


@dataclass
class RunResult:
    tables: list[pa.Table]  # one per bundle, one row per evaluated household, input order
    errors: list[dict[str, Any]]
    seconds: float
    resumed_chunks: int


# --- progress ------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar with rate and time left, on a terminal only."""

    def __init__(self, total: int | None, stream: TextIO | None, label: str = "households"):
        self.total = total
        self.stream = stream
        self.label = label
        self.done = 0
        self.started = time.monotonic()
        self._last = 0.0

    def advance(self, count: int, force: bool = False) -> None:
        self.done += count
        if self.stream is None:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * 30)
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            line = (
                f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} "
                f"{self.done:,}/{self.total:,} {self.label}  {rate:,.0f}/s  "
                f"{_clock(elapsed)} elapsed, {_clock(left)} left "
            )
        else:
            line = f"\r{self.done:,} {self.label}  {rate:,.0f}/s  {_clock(elapsed)} elapsed "
        self.stream.write(line)
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.advance(0, force=True)
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}:{seconds % 60:02d}"


def count_households(path: Path) -> int | None:
    kind = file_format(path)
    if kind == "parquet":
        return pq.ParquetFile(path).metadata.num_rows
    count = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            count += block.count(b"\n")
    return count - 1 if kind == "csv" else count


# --- workers -------------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init(bundles: list[Bundle], jurisdiction: str, as_of: date, parts: str) -> None:
    _STATE.update(bundles=bundles, jurisdiction=jurisdiction, as_of=as_of, parts=Path(parts))


def _work(chunk: Chunk) -> tuple[int, int, int]:
    tables, errors = decide_chunk(chunk, _STATE["bundles"], _STATE["jurisdiction"], _STATE["as_of"])
    parts: Path = _STATE["parts"]
    stem = f"part-{chunk.index:06d}"
    for scenario, table in enumerate(tables):
        _atomic(parts / f"{stem}.{scenario}.parquet", lambda p, t=table: pq.write_table(t, p))
    _atomic(
        parts / f"{stem}.errors.jsonl",
        lambda p: p.write_text(
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors), encoding="utf-8"
        ),
    )
    (parts / f"{stem}.done").write_text(str(len(chunk.lines)))
    return chunk.index, len(chunk.lines), len(errors)


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


# --- the run -------------------------------------------------------------------------------------


def _manifest(
    path: Path, jurisdiction: str, as_of: date, bundles: list[Bundle], chunk_size: int
) -> dict[str, Any]:
    stat = path.stat()
    return {
        "version": MANIFEST_VERSION,
        "input": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "jurisdiction": jurisdiction,
        "as_of": as_of.isoformat(),
        "bundles": [b.sha256 for b in bundles],
        "chunk_size": chunk_size,
    }


def run(
    path: Path,
    bundles: list[Bundle],
    jurisdiction: str,
    as_of: date,
    parts: Path,
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: TextIO | None = None,
    stop_after: int | None = None,
) -> RunResult:
    """Decide every household of ``path`` under each bundle; see the module docstring.

    ``stop_after`` (tests) stops after that many new chunks, as an interrupted run would.
    """
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    manifest = _manifest(path, jurisdiction, as_of, bundles, chunk_size)
    manifest_file = parts / "manifest.json"
    if parts.exists():
        try:
            old = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if old != manifest:
            shutil.rmtree(parts)
    parts.mkdir(parents=True, exist_ok=True)
    manifest_file.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    done = {int(p.name[5:11]) for p in parts.glob("part-*.done")}
    bar = Progress(count_households(path) if progress is not None else None, progress)
    resumed = 0
    new = 0
    chunks = iter_chunks(path, chunk_size)

    def pending() -> Any:
        nonlocal resumed
        for chunk in chunks:
            if chunk.index in done:
                resumed += 1
                bar.advance(len(chunk.lines))
                continue
            yield chunk

    if workers <= 1:
        _init(bundles, jurisdiction, as_of, str(parts))
        for chunk in pending():
            if stop_after is not None and new >= stop_after:
                raise KeyboardInterrupt("stopped (test)")
            _, count, _ = _work(chunk)
            new += 1
            bar.advance(count)
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init,
            initargs=(bundles, jurisdiction, as_of, str(parts)),
        ) as pool:  # fmt: skip
            running: set[Future[tuple[int, int, int]]] = set()
            source = pending()
            exhausted = False
            while True:
                while not exhausted and len(running) < 2 * workers:
                    if stop_after is not None and new + len(running) >= stop_after:
                        exhausted = True
                        break
                    chunk = next(source, None)
                    if chunk is None:
                        exhausted = True
                        break
                    running.add(pool.submit(_work, chunk))
                if not running:
                    break
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    _, count, _ = future.result()
                    new += 1
                    bar.advance(count)
            if stop_after is not None and next(source, None) is not None:
                raise KeyboardInterrupt("stopped (test)")
    bar.close()
    tables, errors = collect(parts, len(bundles))
    return RunResult(tables, errors, time.perf_counter() - started, resumed)


def collect(parts: Path, scenarios: int) -> tuple[list[pa.Table], list[dict[str, Any]]]:
    indexes = sorted(int(p.name[5:11]) for p in parts.glob("part-*.done"))
    tables = []
    for scenario in range(scenarios):
        pieces = [pq.read_table(parts / f"part-{i:06d}.{scenario}.parquet") for i in indexes]
        tables.append(pa.concat_tables(pieces) if pieces else layout.result_schema().empty_table())
    errors: list[dict[str, Any]] = []
    for i in indexes:
        text = (parts / f"part-{i:06d}.errors.jsonl").read_text(encoding="utf-8")
        errors.extend(json.loads(line) for line in text.splitlines() if line)
    return tables, errors


def write_results(table: pa.Table, out: Path) -> None:
    """Parquet or JSONL by the file's extension, written whole then renamed into place."""
    kind = out.suffix.lower()
    if kind in (".parquet", ".pq"):
        _atomic(out, lambda p: pq.write_table(table, p))
    elif kind in (".jsonl", ".ndjson"):
        _atomic(out, lambda p: p.write_bytes(table_to_jsonl(table)))
    else:
        raise ValueError(f"{out}: results are written as .parquet or .jsonl")


def write_errors(errors: list[dict[str, Any]], out: Path) -> None:
    _atomic(
        out,
        lambda p: p.write_text(
            "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors), encoding="utf-8"
        ),
    )


def read_results(path: Path) -> pa.Table:
    """A results file (Parquet or JSONL) back as a table of the results layout."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return pq.read_table(path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    for row in rows:
        for key in layout.RESULT_MONEY_COLUMNS:
            if row[key] is not None:
                row[key] = Decimal(row[key])
    schema = layout.result_schema()
    return pa.Table.from_pylist(rows, schema=schema)


# --- summaries -----------------------------------------------------------------------------------

PROGRAM_NAMES = {
    "tekun": "特困 tekun",
    "dibao": "低保 dibao",
    "marginal": "低保边缘 marginal",
    "rigid_expenditure": "刚性支出 rigid_expenditure",
    "temporary": "临时救助 temporary",
}
MONTHLY = ("tekun", "dibao")


def _money_sum(column: pa.ChunkedArray) -> Decimal:
    total = pc.sum(column).as_py()
    return (total or Decimal(0)).quantize(Decimal("0.01"))


def _status_counts(column: pa.ChunkedArray) -> dict[str, int]:
    counts = dict.fromkeys(("eligible", "ineligible", "insufficient_data", "not_applicable"), 0)
    for item in pc.value_counts(pc.cast(column, pa.string())).to_pylist():
        counts[item["values"]] = item["counts"]
    return counts


def summarize(table: pa.Table) -> dict[str, Any]:
    """Counts by program and status, members covered, and cost (yuan; temporary: one-off)."""
    programs: dict[str, Any] = {}
    for program in layout.PROGRAMS:
        entry: dict[str, Any] = {"status": _status_counts(table.column(f"{program}_status"))}
        if program in MONTHLY:
            entry["members"] = int(pc.sum(table.column(f"{program}_members")).as_py() or 0)
            entry["monthly_cost"] = str(_money_sum(table.column(f"{program}_amount")))
        if program == "dibao":
            basis = pc.value_counts(pc.cast(table.column("dibao_basis"), pa.string())).to_pylist()
            entry["basis"] = {b["values"]: b["counts"] for b in basis if b["values"] is not None}
        if program == "temporary":
            entry["one_off_cost"] = str(_money_sum(table.column("temporary_amount")))
        programs[program] = entry
    monthly = sum((Decimal(programs[p]["monthly_cost"]) for p in MONTHLY), Decimal(0))
    return {
        "households": table.num_rows,
        "programs": programs,
        "monthly_cost": str(monthly),
        "annual_cost": str(monthly * 12),
    }


def format_summary(summary: dict[str, Any], heading: str) -> str:
    lines = [heading, ""]
    header = (
        f"{'program':30} {'eligible':>10} {'ineligible':>11} {'insufficient':>13} "
        f"{'not applic.':>12} {'monthly cost (元)':>18}"
    )
    lines += [header, "-" * len(header)]
    for program, entry in summary["programs"].items():
        s = entry["status"]
        cost = entry.get("monthly_cost") or (
            f"{entry['one_off_cost']} one-off" if "one_off_cost" in entry else ""
        )
        lines.append(
            f"{PROGRAM_NAMES[program]:30} {s['eligible']:>10,} {s['ineligible']:>11,} "
            f"{s['insufficient_data']:>13,} {s['not_applicable']:>12,} {_yuan(cost):>18}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"{'total monthly (特困 + 低保)':30} {'':>10} {'':>11} {'':>13} {'':>12} "
        f"{_yuan(summary['monthly_cost']):>18}"
    )
    basis = summary["programs"]["dibao"].get("basis") or {}
    if basis:
        lines.append("低保 basis: " + ", ".join(f"{k} {v:,}" for k, v in sorted(basis.items())))
    return "\n".join(lines) + "\n"


def _yuan(text: str) -> str:
    if not text:
        return ""
    value, _, rest = text.partition(" ")
    number = f"{Decimal(value):,.2f}"
    return f"{number} {rest}".strip()


# --- what-if -------------------------------------------------------------------------------------

# A household's decision changed if one of these did (its per-capita income and standard may
# change with the rules without changing any decision; the diff file still shows them).
DECISION_COLUMNS = tuple(
    c for c in layout.RESULT_COLUMNS[2:] if c not in ("per_capita_income", "standard")
)


def compare(before: pa.Table, after: pa.Table) -> tuple[dict[str, Any], pa.Table]:
    """(the what-if report, the per-household diff: households whose decision changed)."""
    assert before.num_rows == after.num_rows
    changed = np.zeros(before.num_rows, dtype=bool)
    report: dict[str, Any] = {"households": before.num_rows, "programs": {}}
    for name in DECISION_COLUMNS:
        a, b = before.column(name), after.column(name)
        if pa.types.is_dictionary(a.type):
            a, b = pc.cast(a, pa.string()), pc.cast(b, pa.string())
        differs = pc.fill_null(pc.not_equal(a, b), True)
        same_null = pc.and_(pc.is_null(a), pc.is_null(b))
        changed |= np.asarray(
            pc.and_(differs, pc.invert(same_null)).to_numpy(zero_copy_only=False), dtype=bool
        )
    for program in layout.PROGRAMS:
        a = np.asarray(
            pc.cast(before.column(f"{program}_status"), pa.string()).to_numpy(zero_copy_only=False)
        )
        b = np.asarray(
            pc.cast(after.column(f"{program}_status"), pa.string()).to_numpy(zero_copy_only=False)
        )
        entry: dict[str, Any] = {
            "eligible_before": int((a == "eligible").sum()),
            "eligible_after": int((b == "eligible").sum()),
            "gained": int(((a != "eligible") & (b == "eligible")).sum()),
            "lost": int(((a == "eligible") & (b != "eligible")).sum()),
        }
        column = "temporary_amount" if program == "temporary" else f"{program}_amount"
        if program in MONTHLY or program == "temporary":
            old = _money_sum(before.column(column))
            new = _money_sum(after.column(column))
            key = "monthly" if program in MONTHLY else "one_off"
            entry[f"{key}_cost_before"] = str(old)
            entry[f"{key}_cost_after"] = str(new)
            entry[f"{key}_cost_change"] = str(new - old)
        report["programs"][program] = entry
    old = sum((Decimal(report["programs"][p]["monthly_cost_before"]) for p in MONTHLY), Decimal(0))
    new = sum((Decimal(report["programs"][p]["monthly_cost_after"]) for p in MONTHLY), Decimal(0))
    report.update(
        monthly_cost_before=str(old),
        monthly_cost_after=str(new),
        monthly_cost_change=str(new - old),
        annual_cost_change=str((new - old) * 12),
        households_changed=int(changed.sum()),
    )
    mask = pa.array(changed)
    diff_columns: dict[str, Any] = {
        "line": before.column("line").filter(mask),
        "id": before.column("id").filter(mask),
    }
    for name in layout.RESULT_COLUMNS[2:]:
        diff_columns[f"{name}_before"] = before.column(name).filter(mask)
        diff_columns[f"{name}_after"] = after.column(name).filter(mask)
    return report, pa.table(diff_columns)


def format_whatif(report: dict[str, Any], heading: str) -> str:
    lines = [heading, ""]
    header = (
        f"{'program':30} {'eligible before':>15} {'after':>9} {'gained':>8} {'lost':>8} "
        f"{'monthly cost change (元)':>24}"
    )
    lines += [header, "-" * len(header)]
    for program, e in report["programs"].items():
        change = e.get("monthly_cost_change") or (
            f"{e['one_off_cost_change']} one-off" if "one_off_cost_change" in e else ""
        )
        lines.append(
            f"{PROGRAM_NAMES[program]:30} {e['eligible_before']:>15,} {e['eligible_after']:>9,} "
            f"{e['gained']:>8,} {e['lost']:>8,} {_signed(change):>24}"
        )
    lines.append("-" * len(header))
    lines.append(
        f"monthly cost (特困 + 低保): {_yuan(report['monthly_cost_before'])} → "
        f"{_yuan(report['monthly_cost_after'])} ({_signed(report['monthly_cost_change'])} a month, "
        f"{_signed(report['annual_cost_change'])} a year)"
    )
    lines.append(f"households whose decision changed: {report['households_changed']:,}")
    return "\n".join(lines) + "\n"


def _signed(text: str) -> str:
    if not text:
        return ""
    value, _, rest = text.partition(" ")
    number = Decimal(value)
    shown = f"{number:+,.2f}" if number else "0.00"
    return f"{shown} {rest}".strip()


def stderr_if_terminal(enabled: bool = True) -> TextIO | None:
    return sys.stderr if enabled and sys.stderr.isatty() else None

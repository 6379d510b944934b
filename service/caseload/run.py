"""Running a caseload through the rules: chunks in parallel, resumable, with a summary.

Work is cut into chunks (``--chunk-size`` households). Each chunk's results are written to a part
file in ``<out>.parts/`` under a manifest that names the input (path, size, modification time),
the rules (a digest of every bundle), the defaults, the what-if change and the chunk size. A run
that stops (Ctrl-C, SIGTERM, a crash, a reboot) and is started again with the same arguments keeps
the parts already written and does only the rest; the final results file is written once, at the
end, by an atomic rename, so it never holds a row twice.

The worker processes stop with the run: when it ends by an exception (Ctrl-C, SIGTERM turned into
``Stopped`` by the command line) they are terminated before it returns, they ignore Ctrl-C
themselves (the main process handles it), and on Linux the kernel ends them if the main process
is killed outright.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from service.caseload import layout
from service.caseload.chunks import (
    Chunk,
    decide_chunk,
    file_format,
    iter_chunks,
    table_to_csv,
    table_to_jsonl,
)
from service.caseload.scenarios import RecordCounts, Scenarios
from service.caseload.text import table as text_table
from service.engine import messages

MANIFEST_VERSION = 2
DEFAULT_CHUNK = 25_000


@dataclass
class RunResult:
    tables: list[pa.Table]  # one per scenario, one row per evaluated household, input order
    errors: list[dict[str, Any]]
    seconds: float
    resumed_chunks: int
    counts: RecordCounts = field(default_factory=RecordCounts)


class Stopped(KeyboardInterrupt):
    """The run was stopped by SIGTERM; the parts written so far are kept for a resume."""


@contextlib.contextmanager
def sigterm_stops() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Stopped`` in the main thread (so the run can end its
    workers and say how to resume) instead of ending the process on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise Stopped(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# --- progress ------------------------------------------------------------------------------------


class Progress:
    """A one-line progress bar with rate and time left, on a terminal only."""

    def __init__(self, total: int | None, stream: TextIO | None, label: str = "户 households"):
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
                f"已用 elapsed {_clock(elapsed)}，剩余 left {_clock(left)} "
            )
        else:
            line = f"\r{self.done:,} {self.label}  {rate:,.0f}/s  已用 elapsed {_clock(elapsed)} "
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


def _set_state(scenarios: Scenarios, parts: str) -> None:
    _STATE.update(scenarios=scenarios, parts=Path(parts))


def _init(scenarios: Scenarios, parts: str, parent: int) -> None:
    """A worker's start: it stops when the run does (see the module docstring)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(parent)
    _set_state(scenarios, parts)


def _end_with_parent(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG: SIGTERM when the parent dies
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _work(chunk: Chunk) -> tuple[int, int, int]:
    outcome = decide_chunk(chunk, _STATE["scenarios"])
    parts: Path = _STATE["parts"]
    stem = f"part-{chunk.index:06d}"
    for scenario, table in enumerate(outcome.tables):
        _atomic(
            parts / f"{stem}.{scenario}.parquet",
            lambda target, written=table: pq.write_table(written, target),
        )
    _atomic(
        parts / f"{stem}.errors.jsonl",
        lambda target: target.write_text(
            "".join(json.dumps(error, ensure_ascii=False) + "\n" for error in outcome.errors),
            encoding="utf-8",
        ),
    )
    done = {"rows": len(chunk.lines), "counts": outcome.counts.as_dict()}
    _atomic(
        parts / f"{stem}.done", lambda target: target.write_text(json.dumps(done), encoding="utf-8")
    )
    return chunk.index, len(chunk.lines), len(outcome.errors)


def _atomic(path: Path, write: Callable[[Path], Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _stop_workers(pool: ProcessPoolExecutor, before: set[Any]) -> None:
    """End the pool's processes now (not after the chunks they hold): the run is stopping."""
    pool.shutdown(wait=False, cancel_futures=True)
    workers = [process for process in multiprocessing.active_children() if process not in before]
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


# --- the run -------------------------------------------------------------------------------------


def _manifest(path: Path, scenarios: Scenarios, chunk_size: int) -> dict[str, Any]:
    stat = path.stat()
    return {
        "version": MANIFEST_VERSION,
        "input": str(path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "scenarios": scenarios.fingerprint(),
        "chunk_size": chunk_size,
    }


def run(
    path: Path,
    scenarios: Scenarios,
    parts: Path,
    *,
    workers: int | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    progress: TextIO | None = None,
    stop_after: int | None = None,
) -> RunResult:
    """Decide every household of ``path`` under its bundle(s); see the module docstring.

    ``stop_after`` (tests) stops after that many new chunks, as an interrupted run would.
    """
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    manifest = _manifest(path, scenarios, chunk_size)
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
    done = {int(part.name[5:11]) for part in parts.glob("part-*.done")}
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
        _set_state(scenarios, str(parts))
        for chunk in pending():
            if stop_after is not None and new >= stop_after:
                raise KeyboardInterrupt("stopped (test)")
            _, count, _ = _work(chunk)
            new += 1
            bar.advance(count)
    else:
        context = multiprocessing.get_context("fork")
        before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init,
            initargs=(scenarios, str(parts), os.getpid()),
        )  # fmt: skip
        try:
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
        except BaseException:
            _stop_workers(pool, before)
            raise
        pool.shutdown()
    bar.close()
    tables, errors, counts = collect(parts, scenarios.count)
    return RunResult(tables, errors, time.perf_counter() - started, resumed, counts)


def collect(
    parts: Path, scenarios: int
) -> tuple[list[pa.Table], list[dict[str, Any]], RecordCounts]:
    indexes = sorted(int(part.name[5:11]) for part in parts.glob("part-*.done"))
    tables = []
    for scenario in range(scenarios):
        pieces = [
            pq.read_table(parts / f"part-{index:06d}.{scenario}.parquet") for index in indexes
        ]
        tables.append(
            pa.concat_tables(pieces).unify_dictionaries()
            if pieces
            else layout.result_schema().empty_table()
        )
    errors: list[dict[str, Any]] = []
    counts = RecordCounts()
    for index in indexes:
        text = (parts / f"part-{index:06d}.errors.jsonl").read_text(encoding="utf-8")
        errors.extend(json.loads(line) for line in text.splitlines() if line)
        done = json.loads((parts / f"part-{index:06d}.done").read_text(encoding="utf-8"))
        counts.add(RecordCounts.from_dict(done["counts"]))
    return tables, errors, counts


RESULT_FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}


def write_results(table: pa.Table, out: Path, kind: str | None = None) -> None:
    """Parquet, JSONL or CSV (UTF-8 with a byte-order mark, for Excel) by ``kind`` or else the
    file's extension; written whole, then renamed into place."""
    kind = kind or RESULT_FORMATS.get(out.suffix.lower())
    if kind == "parquet":
        _atomic(out, lambda target: pq.write_table(table, target))
    elif kind == "jsonl":
        _atomic(out, lambda target: target.write_bytes(table_to_jsonl(table)))
    elif kind == "csv":
        _atomic(out, lambda target: target.write_bytes(table_to_csv(table)))
    else:
        raise ValueError(f"{out}: results are written as .parquet, .jsonl or .csv")


def write_errors(errors: list[dict[str, Any]], out: Path) -> None:
    _atomic(
        out,
        lambda target: target.write_text(
            "".join(json.dumps(error, ensure_ascii=False) + "\n" for error in errors),
            encoding="utf-8",
        ),
    )


def read_results(path: Path) -> pa.Table:
    """A results file (Parquet, JSONL or CSV) back as a table of the results layout."""
    kind = RESULT_FORMATS.get(path.suffix.lower())
    if kind == "parquet":
        return pq.read_table(path)
    if kind == "csv":
        import csv

        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows: list[dict[str, Any]] = [
                {name: (value if value != "" else None) for name, value in record.items()}
                for record in csv.DictReader(handle)
            ]
    else:
        text = path.read_text(encoding="utf-8")
        rows = [json.loads(line) for line in text.splitlines() if line]
    for row in rows:
        for key in layout.RESULT_MONEY_COLUMNS:
            if row[key] is not None:
                row[key] = Decimal(row[key])
        for key in ("as_of", "bundle_version"):
            if row[key] is not None:
                row[key] = date.fromisoformat(row[key])
        if kind == "csv":
            for key in ("line", "tekun_members", "dibao_members"):
                if row[key] is not None:
                    row[key] = int(row[key])
    return pa.Table.from_pylist(rows, schema=layout.result_schema())


# --- summaries -----------------------------------------------------------------------------------

# Short Chinese labels of the programs for the narrow columns of a summary table and a chart's
# axis; the programs' names are the engine's (``messages.NAMES``), the English label is the id.
PROGRAM_LABELS = {
    "tekun": "特困",
    "dibao": "低保",
    "marginal": "低保边缘",
    "rigid_expenditure": "刚性支出",
    "temporary": "临时救助",
}
MONTHLY = ("tekun", "dibao")


def program_name(program: str) -> str:
    return f"{PROGRAM_LABELS[program]} {program}"


def _money_sum(column: pa.ChunkedArray) -> Decimal:
    total = pc.sum(column).as_py()
    return (total or Decimal(0)).quantize(Decimal("0.01"))


def _status_counts(column: pa.ChunkedArray) -> dict[str, int]:
    counts = dict.fromkeys(("eligible", "ineligible", "insufficient_data", "not_applicable"), 0)
    for item in pc.value_counts(pc.cast(column, pa.string())).to_pylist():
        counts[item["values"]] = item["counts"]
    return counts


def string_columns(table: pa.Table, names: list[str]) -> pa.Table:
    """``names`` of ``table``, dictionary columns as plain strings (for grouping)."""
    columns = []
    for name in names:
        column = table.column(name)
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, pa.string())
        columns.append(column)
    return pa.table(columns, names=names)


def bundles_used(table: pa.Table) -> list[dict[str, Any]]:
    """Each jurisdiction and bundle the households were decided under, with their count."""
    keys = ["jurisdiction", "bundle_version", "bundle_sha256"]
    grouped = string_columns(table, [*keys, "line"]).group_by(keys).aggregate([("line", "count")])
    out = [
        {
            "jurisdiction": row["jurisdiction"],
            "version": row["bundle_version"].isoformat(),
            "sha256": row["bundle_sha256"],
            "households": row["line_count"],
        }
        for row in grouped.to_pylist()
    ]
    return sorted(out, key=lambda entry: (entry["jurisdiction"], entry["version"], entry["sha256"]))


def summarize(table: pa.Table) -> dict[str, Any]:
    """Counts by program and status, members covered, cost (yuan; temporary: one-off), and the
    bundles the households were decided under."""
    programs: dict[str, Any] = {}
    for program in layout.PROGRAMS:
        entry: dict[str, Any] = {"status": _status_counts(table.column(f"{program}_status"))}
        if program in MONTHLY:
            entry["members"] = int(pc.sum(table.column(f"{program}_members")).as_py() or 0)
            entry["monthly_cost"] = str(_money_sum(table.column(f"{program}_amount")))
        if program == "dibao":
            basis = pc.value_counts(pc.cast(table.column("dibao_basis"), pa.string())).to_pylist()
            entry["basis"] = {
                group["values"]: group["counts"] for group in basis if group["values"] is not None
            }
        if program == "temporary":
            entry["one_off_cost"] = str(_money_sum(table.column("temporary_amount")))
        programs[program] = entry
    monthly = sum((Decimal(programs[program]["monthly_cost"]) for program in MONTHLY), Decimal(0))
    return {
        "households": table.num_rows,
        "bundles": bundles_used(table),
        "programs": programs,
        "monthly_cost": str(monthly),
        "annual_cost": str(monthly * 12),
    }


def yuan(text: str) -> str:
    """``"1234567.5"`` → ``"1,234,567.50"``; empty stays empty."""
    return f"{Decimal(text):,.2f}" if text else ""


def signed_yuan(text: str) -> str:
    if not text:
        return ""
    number = Decimal(text)
    return f"{number:+,.2f}" if number else "0.00"


def format_summary(summary: dict[str, Any], heading: list[str]) -> str:
    """The evaluation summary as a table, Chinese header above English, columns aligned by
    display width."""
    rows = []
    for program, entry in summary["programs"].items():
        counts = entry["status"]
        if "monthly_cost" in entry:
            cost = yuan(entry["monthly_cost"])
        elif "one_off_cost" in entry:
            cost = f"{yuan(entry['one_off_cost'])} 一次性 one-off"
        else:
            cost = ""
        rows.append(
            [
                program_name(program),
                f"{counts['eligible']:,}",
                f"{counts['ineligible']:,}",
                f"{counts['insufficient_data']:,}",
                f"{counts['not_applicable']:,}",
                cost,
            ]
        )
    lines = [*heading, ""]
    lines += text_table(
        [
            ["项目", "符合", "不符合", "资料不足", "不适用", "每月支出（元）"],
            ["program", "eligible", "ineligible", "insufficient", "not applic.", "monthly (yuan)"],
        ],
        rows,
        "<>>>>>",
        footer=[
            ["合计每月（特困 + 低保）", "", "", "", "", yuan(summary["monthly_cost"])],
            ["total a month (tekun + dibao)", "", "", "", "", ""],
        ],
    )
    basis = summary["programs"]["dibao"].get("basis") or {}
    if basis:
        lines.append(
            "低保依据 dibao basis: "
            + ", ".join(
                f"{messages.name('basis', basis_id).zh} {messages.name('basis', basis_id).en} {count:,}"
                for basis_id, count in sorted(basis.items())
            )
        )
    return "\n".join(lines) + "\n"


# --- what-if -------------------------------------------------------------------------------------

# A household's decision changed if one of these did (its per-capita income and standard may
# change with the rules without changing any decision; the diff file still shows them).
DECISION_COLUMNS = tuple(
    column
    for column in layout.RESULT_DECISION_COLUMNS
    if column not in ("per_capita_income", "standard")
)


def _bundle_pairs(before: pa.Table, after: pa.Table) -> list[dict[str, Any]]:
    """Each jurisdiction with its baseline and changed bundle, and how many households."""
    keys = ["jurisdiction", "bundle_version", "bundle_sha256"]
    both = string_columns(before, [*keys, "line"])
    changed = string_columns(after, keys[1:])
    both = both.append_column("changed_version", changed.column("bundle_version"))
    both = both.append_column("changed_sha256", changed.column("bundle_sha256"))
    group = [*keys, "changed_version", "changed_sha256"]
    grouped = both.group_by(group).aggregate([("line", "count")])
    out = [
        {
            "jurisdiction": row["jurisdiction"],
            "households": row["line_count"],
            "baseline": {
                "version": row["bundle_version"].isoformat(),
                "sha256": row["bundle_sha256"],
            },
            "changed": {
                "version": row["changed_version"].isoformat(),
                "sha256": row["changed_sha256"],
            },
        }
        for row in grouped.to_pylist()
    ]
    return sorted(out, key=lambda entry: (entry["jurisdiction"], entry["baseline"]["version"]))


def compare(before: pa.Table, after: pa.Table) -> tuple[dict[str, Any], pa.Table]:
    """(the what-if report, the per-household diff: households whose decision changed)."""
    assert before.num_rows == after.num_rows
    changed = np.zeros(before.num_rows, dtype=bool)
    report: dict[str, Any] = {
        "households": before.num_rows,
        "bundles": _bundle_pairs(before, after),
        "programs": {},
    }
    for name in DECISION_COLUMNS:
        was, now = before.column(name), after.column(name)
        if pa.types.is_dictionary(was.type):
            was, now = pc.cast(was, pa.string()), pc.cast(now, pa.string())
        differs = pc.fill_null(pc.not_equal(was, now), True)
        same_null = pc.and_(pc.is_null(was), pc.is_null(now))
        changed |= np.asarray(
            pc.and_(differs, pc.invert(same_null)).to_numpy(zero_copy_only=False), dtype=bool
        )
    for program in layout.PROGRAMS:
        status_before = np.asarray(
            pc.cast(before.column(f"{program}_status"), pa.string()).to_numpy(zero_copy_only=False)
        )
        status_after = np.asarray(
            pc.cast(after.column(f"{program}_status"), pa.string()).to_numpy(zero_copy_only=False)
        )
        entry: dict[str, Any] = {
            "eligible_before": int((status_before == "eligible").sum()),
            "eligible_after": int((status_after == "eligible").sum()),
            "gained": int(((status_before != "eligible") & (status_after == "eligible")).sum()),
            "lost": int(((status_before == "eligible") & (status_after != "eligible")).sum()),
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
    old = sum(
        (Decimal(report["programs"][program]["monthly_cost_before"]) for program in MONTHLY),
        Decimal(0),
    )
    new = sum(
        (Decimal(report["programs"][program]["monthly_cost_after"]) for program in MONTHLY),
        Decimal(0),
    )
    report.update(
        monthly_cost_before=str(old),
        monthly_cost_after=str(new),
        monthly_cost_change=str(new - old),
        annual_cost_change=str((new - old) * 12),
        households_changed=int(changed.sum()),
    )
    mask = pa.array(changed)
    diff_columns: dict[str, Any] = {
        name: before.column(name).filter(mask) for name in ("line", "id", "jurisdiction", "as_of")
    }
    for name in ("bundle_version", "bundle_sha256", *layout.RESULT_DECISION_COLUMNS):
        diff_columns[f"{name}_before"] = before.column(name).filter(mask)
        diff_columns[f"{name}_after"] = after.column(name).filter(mask)
    return report, pa.table(diff_columns)


def single_bundle(bundles: list[dict[str, Any]], key: str | None) -> dict[str, Any] | None:
    """The one bundle every household was decided under (None if there were several)."""
    chosen = {
        json.dumps(
            bundle[key] if key else {field: bundle[field] for field in ("version", "sha256")}
        )
        for bundle in bundles
    }
    if len(chosen) != 1:
        return None
    return json.loads(chosen.pop())


def describe_whatif(report: dict[str, Any], scenarios: Scenarios, counts: RecordCounts) -> None:
    """What a what-if report says about its rules and records (the CLI's and the HTTP's): the
    defaults, the change, the bundles (``baseline``/``changed`` name them when every household
    had the same), and the records overridden or defaulted."""
    baseline = single_bundle(report["bundles"], "baseline")
    changed = single_bundle(report["bundles"], "changed")
    report.update(
        jurisdiction=scenarios.defaults.jurisdiction,
        as_of=scenarios.defaults.as_of.isoformat() if scenarios.defaults.as_of else None,
        defaults=scenarios.defaults.describe(),
        baseline=baseline or {"version": None, "sha256": None},
        changed={
            **(changed or {"version": None, "sha256": None}),
            "compare_as_of": (
                scenarios.compare_as_of.isoformat() if scenarios.compare_as_of else None
            ),
            "overrides": dict(scenarios.overrides),
        },
        **counts.summary(),
    )


def format_whatif(report: dict[str, Any], heading: list[str]) -> str:
    """The what-if report as a table, Chinese header above English, aligned by display width."""
    rows = []
    for program, entry in report["programs"].items():
        if "monthly_cost_change" in entry:
            change = signed_yuan(entry["monthly_cost_change"])
        elif "one_off_cost_change" in entry:
            change = f"{signed_yuan(entry['one_off_cost_change'])} 一次性 one-off"
        else:
            change = ""
        rows.append(
            [
                program_name(program),
                f"{entry['eligible_before']:,}",
                f"{entry['eligible_after']:,}",
                f"{entry['gained']:,}",
                f"{entry['lost']:,}",
                change,
            ]
        )
    lines = [*heading, ""]
    lines += text_table(
        [
            ["项目", "原符合", "现符合", "新增", "失去", "每月支出变化（元）"],
            ["program", "eligible before", "after", "gained", "lost", "monthly change (yuan)"],
        ],
        rows,
        "<>>>>>",
    )
    before, after = yuan(report["monthly_cost_before"]), yuan(report["monthly_cost_after"])
    month, year = (
        signed_yuan(report["monthly_cost_change"]),
        signed_yuan(report["annual_cost_change"]),
    )
    lines.append(f"每月支出（特困 + 低保）：{before} → {after} 元（每月 {month}，每年 {year}）")
    lines.append(
        f"monthly cost (tekun + dibao): {before} → {after} yuan ({month} a month, {year} a year)"
    )
    changed = f"{report['households_changed']:,}"
    lines.append(f"决定有变化的家庭：{changed} 户 · households whose decision changed: {changed}")
    return "\n".join(lines) + "\n"


def stderr_if_terminal(enabled: bool = True) -> TextIO | None:
    return sys.stderr if enabled and sys.stderr.isatty() else None

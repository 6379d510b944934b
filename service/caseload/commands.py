"""``eligibility caseload generate | evaluate | whatif``.

Registered by ``register(subparsers)``; everything heavy (numpy, pyarrow, matplotlib) is imported
only when a caseload command runs, so the rest of the command line works without the
``caseload`` extra installed.

Exit codes: 0 done; 1 done, but some rows were refused (see the errors file); 2 the command line,
the rule files, an override or the caseload file as a whole is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _setting(text: str) -> tuple[str, Any]:
    """``dibao.standard.urban=1000`` → ("dibao.standard.urban", "1000"); JSON lists, objects,
    true/false/null are read as such, anything else stays text (decimals stay exact)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise argparse.ArgumentTypeError(f"expected PARAMETER=VALUE, got {text!r}")
    parsed: Any = value
    try:
        candidate = json.loads(value)
    except ValueError:
        candidate = None
    else:
        if isinstance(candidate, list | dict | bool) or candidate is None:
            parsed = candidate
    return path.strip(), parsed


def register(subparsers: argparse._SubParsersAction) -> None:
    caseload = subparsers.add_parser(
        "caseload", help="generate, evaluate and simulate rule changes on a caseload file"
    )
    sub = caseload.add_subparsers(dest="caseload_command", required=True)

    gen = sub.add_parser("generate", help="write a realistic synthetic caseload")
    gen.add_argument("--jurisdiction", required=True)
    gen.add_argument("--households", type=int, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument(
        "--as-of", type=_date, default=None, help="reference date (default: 2025-07-01)"
    )
    gen.add_argument(
        "--out", default="-", help="file (.jsonl, .parquet, .csv) or - for JSONL on standard output"
    )
    gen.add_argument("--workers", type=int, default=None, help="default: the core count")
    gen.set_defaults(func=cmd_generate)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("file", type=Path, help="caseload (.jsonl, .parquet, .csv)")
        p.add_argument("--jurisdiction", required=True)
        p.add_argument(
            "--as-of", type=_date, required=True, help="decision date of every household"
        )
        p.add_argument(
            "--workers", type=int, default=None, help="processes (default: the core count)"
        )
        p.add_argument("--chunk-size", type=int, default=None, help="households per chunk")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")

    ev = sub.add_parser("evaluate", help="evaluate every household, write one result row each")
    common(ev)
    ev.add_argument("--out", type=Path, required=True, help="results (.parquet or .jsonl)")
    ev.add_argument("--errors", type=Path, default=None, help="default: OUT.errors.jsonl")
    ev.add_argument(
        "--set", dest="settings", type=_setting, action="append", default=[],
        metavar="PARAM=VALUE", help="evaluate under a changed bundle (as in whatif)",
    )  # fmt: skip
    ev.set_defaults(func=cmd_evaluate)

    wi = sub.add_parser("whatif", help="who gains and loses under a rule change, and the cost")
    common(wi)
    wi.add_argument(
        "--set", dest="settings", type=_setting, action="append", default=[],
        metavar="PARAM=VALUE", help="override a parameter of the resolved bundle (repeatable)",
    )  # fmt: skip
    wi.add_argument(
        "--compare-as-of", type=_date, default=None,
        help="compare with the bundle in force on this date (households still evaluated as of --as-of)",
    )  # fmt: skip
    wi.add_argument(
        "--out-dir", type=Path, default=Path("whatif"),
        help="diff, chart, summary and errors go here (default: %(default)s)",
    )  # fmt: skip
    wi.add_argument("--diff-format", choices=("parquet", "jsonl"), default="parquet")
    wi.set_defaults(func=cmd_whatif)


# --- generate ------------------------------------------------------------------------------------


def _generate_block(job: tuple[str, int, int, int, str, dict[str, str], str]) -> Any:
    from decimal import Decimal

    from service.caseload import generate, layout

    jurisdiction, start, count, seed, as_of, standards, kind = job
    requests = list(
        generate.requests(
            jurisdiction,
            count,
            seed,
            date.fromisoformat(as_of),
            {k: Decimal(v) for k, v in standards.items()},
            start,
        )
    )
    if kind == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests)
    rows = [layout.request_to_row(r, r["id"]) for r in requests]
    if kind == "csv":
        return [layout.row_to_csv(row) for row in rows]
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=layout.arrow_schema())


def cmd_generate(args: argparse.Namespace) -> int:
    import multiprocessing

    from service.caseload import generate, layout
    from service.caseload.chunks import file_format
    from service.engine import load_rules

    as_of = args.as_of or generate.DEFAULT_AS_OF
    bundle = _resolve(load_rules(args.rules), args.jurisdiction, as_of)
    if bundle is None:
        return 2
    standards = {k: str(v) for k, v in bundle.rules.standard.items()}
    kind = "jsonl" if args.out == "-" else file_format(args.out)
    jobs = [
        (args.jurisdiction, start, min(generate.BLOCK, args.households - start), args.seed,
         as_of.isoformat(), standards, kind)
        for start in range(0, args.households, generate.BLOCK)
    ]  # fmt: skip
    workers = max(1, min(args.workers or os.cpu_count() or 1, len(jobs)))
    pool = multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None
    blocks = pool.imap(_generate_block, jobs) if pool else map(_generate_block, jobs)
    try:
        if args.out == "-":
            for text in blocks:
                sys.stdout.write(text)
        elif kind == "jsonl":
            with open(args.out, "w", encoding="utf-8") as handle:
                for text in blocks:
                    handle.write(text)
        elif kind == "csv":
            import csv

            with open(args.out, "w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(layout.COLUMNS))
                writer.writeheader()
                for records in blocks:
                    writer.writerows(records)
        else:
            import pyarrow.parquet as pq

            with pq.ParquetWriter(args.out, layout.arrow_schema()) as writer:
                for table in blocks:
                    writer.write_table(table)
    finally:
        if pool:
            pool.close()
            pool.join()
    if args.out != "-":
        print(
            f"wrote {args.households:,} households of {args.jurisdiction} as of {as_of} "
            f"(seed {args.seed}) to {args.out}",
            file=sys.stderr,
        )
    return 0


# --- evaluate / whatif -----------------------------------------------------------------------------


def _resolve(base: Any, jurisdiction: str, on: date) -> Any:
    from service.engine import BeforeFirstVersion, UnknownJurisdiction

    try:
        return base.resolve(jurisdiction, on)
    except (UnknownJurisdiction, BeforeFirstVersion) as error:
        print(error, file=sys.stderr)
        return None


def _overridden(bundle: Any, settings: list[tuple[str, Any]]) -> Any:
    from service.engine import RuleSetError

    if not settings:
        return bundle
    try:
        return bundle.with_overrides(dict(settings), source="caseload --set")
    except RuleSetError as error:
        print(f"the override is not valid ({len(error.problems)} problems):", file=sys.stderr)
        for item in error.problems:
            print(f"  {item}", file=sys.stderr)
        return None


def _heading(args: argparse.Namespace, bundle: Any, result: Any, rows: int) -> str:
    return (
        f"{args.jurisdiction} as of {args.as_of} · bundle {bundle.version} "
        f"sha256 {bundle.sha256[:12]}… · {rows:,} households evaluated, "
        f"{len(result.errors):,} refused · {result.seconds:.1f} s"
    )


def _run(args: argparse.Namespace, bundles: list[Any], parts: Path) -> Any:
    from service.caseload.chunks import CaseloadFileError
    from service.caseload.run import DEFAULT_CHUNK, run, stderr_if_terminal

    try:
        return run(
            args.file,
            bundles,
            args.jurisdiction,
            args.as_of,
            parts,
            workers=args.workers,
            chunk_size=args.chunk_size or DEFAULT_CHUNK,
            progress=stderr_if_terminal(not args.no_progress),
        )
    except CaseloadFileError as error:
        print(f"cannot read the caseload: {error}", file=sys.stderr)
        return None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from service.caseload.run import format_summary, summarize, write_errors, write_results
    from service.engine import load_rules

    if args.out.suffix.lower() not in (".parquet", ".pq", ".jsonl", ".ndjson"):
        print("--out must end in .parquet or .jsonl", file=sys.stderr)
        return 2
    bundle = _resolve(load_rules(args.rules), args.jurisdiction, args.as_of)
    if bundle is None or (bundle := _overridden(bundle, args.settings)) is None:
        return 2
    parts = args.out.with_name(args.out.name + ".parts")
    result = _run(args, [bundle], parts)
    if result is None:
        return 2
    table = result.tables[0]
    write_results(table, args.out)
    errors_path = args.errors or args.out.with_name(args.out.name + ".errors.jsonl")
    write_errors(result.errors, errors_path)
    shutil.rmtree(parts, ignore_errors=True)
    summary = summarize(table)
    summary.update(
        jurisdiction=args.jurisdiction,
        as_of=args.as_of.isoformat(),
        bundle={"version": bundle.version.isoformat(), "sha256": bundle.sha256},
        refused=len(result.errors),
        seconds=round(result.seconds, 3),
        results=str(args.out),
        errors=str(errors_path),
    )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(format_summary(summary, _heading(args, bundle, result, table.num_rows)))
        print(f"results: {args.out}   errors: {errors_path}")
    return 1 if result.errors else 0


def cmd_whatif(args: argparse.Namespace) -> int:
    import pyarrow.parquet as pq

    from service.caseload.chart import whatif_chart
    from service.caseload.run import (
        compare,
        format_whatif,
        summarize,
        table_to_jsonl,
        write_errors,
    )
    from service.engine import load_rules

    base = load_rules(args.rules)
    baseline = _resolve(base, args.jurisdiction, args.as_of)
    if baseline is None:
        return 2
    changed = baseline
    if args.compare_as_of is not None:
        changed = _resolve(base, args.jurisdiction, args.compare_as_of)
        if changed is None:
            return 2
    if (changed := _overridden(changed, args.settings)) is None:
        return 2
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    result = _run(args, [baseline, changed], out / ".parts")
    if result is None:
        return 2
    before, after = result.tables
    report, diff = compare(before, after)
    diff_path = out / f"diff.{args.diff_format}"
    if args.diff_format == "parquet":
        pq.write_table(diff, diff_path)
    else:
        diff_path.write_bytes(table_to_jsonl(diff))
    chart_path = out / "chart.png"
    heading = (
        f"What-if for {args.jurisdiction} as of {args.as_of}: baseline bundle {baseline.version} "
        f"({baseline.sha256[:12]}…) vs "
        + (f"bundle in force on {args.compare_as_of} " if args.compare_as_of else "")
        + (", ".join(f"{k}={v}" for k, v in args.settings) or "no change")
    )
    whatif_chart(before, after, report, chart_path, heading)
    errors_path = out / "errors.jsonl"
    write_errors(result.errors, errors_path)
    report.update(
        jurisdiction=args.jurisdiction,
        as_of=args.as_of.isoformat(),
        baseline={"version": baseline.version.isoformat(), "sha256": baseline.sha256},
        changed={
            "version": changed.version.isoformat(),
            "sha256": changed.sha256,
            "compare_as_of": args.compare_as_of.isoformat() if args.compare_as_of else None,
            "overrides": {k: v for k, v in args.settings},
        },
        before=summarize(before),
        after=summarize(after),
        refused=len(result.errors),
        seconds=round(result.seconds, 3),
        diff=str(diff_path),
        chart=str(chart_path),
        errors=str(errors_path),
    )
    (out / "summary.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    shutil.rmtree(out / ".parts", ignore_errors=True)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(format_whatif(report, heading))
        print(f"diff: {diff_path}   chart: {chart_path}   summary: {out / 'summary.json'}")
        if result.errors:
            print(f"{len(result.errors):,} rows refused: {errors_path}")
    return 1 if result.errors else 0


def _self_register() -> None:
    # ``service.cli`` builds its parser from EXTENSIONS; importing this module adds ours.
    from service.cli import EXTENSIONS

    if register not in EXTENSIONS:
        EXTENSIONS.append(register)


_self_register()

"""``eligibility caseload generate | evaluate | whatif``.

Added to the command line by ``register(subparsers)``, which ``service.cli`` calls;
everything heavy (numpy, pyarrow, matplotlib) is imported only when a caseload command runs.

Each record is decided under its own jurisdiction and decision date; ``--jurisdiction`` and
``--as-of`` fill them in where a record has none, and replace the record's own only with
``--force-jurisdiction`` / ``--force-as-of`` (the summary counts the records overridden).

Exit codes: 0 done; 1 done, but some rows were refused (see the errors file); 2 the command line,
the rule files, an override or the caseload file as a whole is wrong; 130 stopped by Ctrl-C and
143 stopped by SIGTERM (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from service.bilingual import Text

RESULT_SUFFIXES = (".parquet", ".pq", ".jsonl", ".ndjson", ".csv")
DEFAULT_CHUNK = 25_000  # households per chunk (service.caseload.run.DEFAULT_CHUNK)
LISTED_BUNDLES = 8  # bundles named in the printed heading; the JSON summary lists them all


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"不是日期（YYYY-MM-DD）：{text!r} / not a date (YYYY-MM-DD): {text!r}"
        ) from None


def _setting(text: str) -> tuple[str, Any]:
    """``dibao.standard.urban=1000`` → ("dibao.standard.urban", "1000"); JSON lists, objects,
    true/false/null are read as such, anything else stays text (decimals stay exact)."""
    path, sep, value = text.partition("=")
    if not sep or not path.strip():
        raise argparse.ArgumentTypeError(
            f"应为 参数=值，收到 {text!r} / expected PARAMETER=VALUE, got {text!r}"
        )
    parsed: Any = value
    try:
        candidate = json.loads(value)
    except ValueError:
        candidate = None
    else:
        if isinstance(candidate, list | dict | bool) or candidate is None:
            parsed = candidate
    return path.strip(), parsed


def _say(args: argparse.Namespace, zh: str, en: str, file: TextIO | None = None) -> None:
    """A message in the language(s) asked for (``--lang``; both by default), Chinese first."""
    print(Text(zh, en).render(getattr(args, "lang", None) or "both"), file=file or sys.stderr)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds ``caseload`` (generate, evaluate, whatif) to the command line's sub-commands."""
    caseload = subparsers.add_parser(
        "caseload",
        help="generate, evaluate and simulate rule changes on a caseload file",
        description="Caseloads for annual review and policy analysis: generate a synthetic "
        "caseload, evaluate every household, or compare two sets of rules (what-if).",
    )
    sub = caseload.add_subparsers(dest="caseload_command", required=True)

    gen = sub.add_parser(
        "generate",
        help="write a realistic synthetic caseload",
        description="Write a realistic synthetic caseload of one jurisdiction (the same file "
        "for the same arguments, whatever the number of workers).",
    )
    gen.add_argument(
        "--jurisdiction", required=True, metavar="ID",
        help="jurisdiction of every household, for example wuhan or chongqing/banan (required)",
    )  # fmt: skip
    gen.add_argument(
        "--households",
        type=int,
        required=True,
        metavar="N",
        help="number of households to write (required)",
    )
    gen.add_argument(
        "--seed", type=int, default=1, metavar="N",
        help="random seed; the same seed gives the same caseload (default: %(default)s)",
    )  # fmt: skip
    gen.add_argument(
        "--as-of", type=_date, default=None, metavar="DATE",
        help="decision date written in every record, YYYY-MM-DD (default: 2025-07-01)",
    )  # fmt: skip
    gen.add_argument(
        "--out", default=None, metavar="FILE",
        help="file to write: .jsonl, .parquet or .csv (CSV is UTF-8 with a byte-order mark, "
        "so Excel shows Chinese text); - writes JSONL to standard output (default: standard "
        "output when it is a pipe or a file; on a terminal --out is required)",
    )  # fmt: skip
    gen.add_argument(
        "--workers", type=int, default=None, metavar="N",
        help="processes generating in parallel (default: the number of CPU cores)",
    )  # fmt: skip
    gen.set_defaults(func=cmd_generate)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "file", type=Path,
            help="caseload: .jsonl (one contract request per line), .parquet or .csv (the flat "
            "layout, see the README's caseload section)",
        )  # fmt: skip
        p.add_argument(
            "--jurisdiction", default=None, metavar="ID",
            help="jurisdiction for records that have none; a record's own jurisdiction is kept "
            "unless --force-jurisdiction is given (default: none, records without one are "
            "refused)",
        )  # fmt: skip
        p.add_argument(
            "--force-jurisdiction", action="store_true",
            help="decide every record under --jurisdiction, replacing the record's own; the "
            "summary counts the records overridden (default: off)",
        )  # fmt: skip
        p.add_argument(
            "--as-of", type=_date, default=None, metavar="DATE",
            help="decision date (YYYY-MM-DD) for records that have none; a record's own date is "
            "kept unless --force-as-of is given (default: none, records without one are refused)",
        )  # fmt: skip
        p.add_argument(
            "--force-as-of", action="store_true",
            help="decide every record as of --as-of, replacing the record's own date; the "
            "summary counts the records overridden (default: off)",
        )  # fmt: skip
        p.add_argument(
            "--workers", type=int, default=None, metavar="N",
            help="processes evaluating in parallel (default: the number of CPU cores)",
        )  # fmt: skip
        p.add_argument(
            "--chunk-size", type=int, default=None, metavar="N",
            help=f"households per chunk, the unit of parallel work and of resuming a stopped run "
            f"(default: {DEFAULT_CHUNK:,})",
        )  # fmt: skip
        p.add_argument(
            "--json", action="store_true",
            help="print the summary as JSON instead of a table (default: a table)",
        )  # fmt: skip
        p.add_argument(
            "--no-progress", action="store_true",
            help="no progress bar (default: a progress bar on standard error when it is a "
            "terminal)",
        )  # fmt: skip

    ev = sub.add_parser(
        "evaluate",
        help="evaluate every household, write one result row each",
        description="Evaluate every household of a caseload under the rules of its "
        "jurisdiction on its date and write one result row per household. A stopped run "
        "resumes where it stopped when started again with the same arguments.",
    )
    common(ev)
    ev.add_argument(
        "--out", type=Path, required=True, metavar="FILE",
        help="results file: .parquet, .jsonl or .csv (CSV is UTF-8 with a byte-order mark, "
        "for Excel) (required)",
    )  # fmt: skip
    ev.add_argument(
        "--errors", type=Path, default=None, metavar="FILE",
        help="refused rows, one JSON object per line with the line number and the problems "
        "(default: the --out file name followed by .errors.jsonl)",
    )  # fmt: skip
    ev.add_argument(
        "--set", dest="settings", type=_setting, action="append", default=[],
        metavar="PARAM=VALUE",
        help="evaluate under a changed bundle: set a parameter of each record's bundle, for "
        "example dibao.standard.urban=1000; repeatable (default: the rules as they are)",
    )  # fmt: skip
    ev.set_defaults(func=cmd_evaluate)

    wi = sub.add_parser(
        "whatif",
        help="who gains and loses under a rule change, and the cost",
        description="Evaluate every household twice, under its baseline rules and under changed "
        "ones, and report who gains and who loses each program and what it costs.",
    )
    common(wi)
    wi.add_argument(
        "--set", dest="settings", type=_setting, action="append", default=[],
        metavar="PARAM=VALUE",
        help="the change: set a parameter of each record's bundle, for example "
        "dibao.standard.urban=1000; repeatable (default: no parameter changed)",
    )  # fmt: skip
    wi.add_argument(
        "--compare-as-of", type=_date, default=None, metavar="DATE",
        help="compare with the bundle in force on this date (YYYY-MM-DD); households are still "
        "decided as of their own date (default: the baseline bundle, changed by --set only)",
    )  # fmt: skip
    wi.add_argument(
        "--out-dir", type=Path, default=Path("whatif"), metavar="DIR",
        help="folder for the diff, the chart, the summary and the errors (default: %(default)s)",
    )  # fmt: skip
    wi.add_argument(
        "--diff-format", choices=("parquet", "jsonl", "csv"), default="parquet",
        help="format of the diff of households whose decision changed; csv is UTF-8 with a "
        "byte-order mark, for Excel (default: %(default)s)",
    )  # fmt: skip
    wi.set_defaults(func=cmd_whatif)


# --- generate ------------------------------------------------------------------------------------


def _generate_block(job: tuple[str, int, int, int, str, dict[str, str], str]) -> Any:
    from decimal import Decimal

    from service import synthetic
    from service.caseload import layout

    jurisdiction, start, count, seed, as_of, standards, kind = job
    requests = list(
        synthetic.caseload(
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


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle


def cmd_generate(args: argparse.Namespace) -> int:
    import multiprocessing

    from service import synthetic
    from service.caseload import layout
    from service.caseload.chunks import CaseloadFileError, file_format
    from service.caseload.run import Stopped, sigterm_stops
    from service.engine import load_rules

    if args.out is None:
        if sys.stdout.isatty():
            _say(
                args,
                "未给出 --out：请用 --out 文件名 写入文件（.jsonl、.parquet 或 .csv），"
                "或用 --out - 明确输出到终端",
                "no --out given: write a file with --out FILE (.jsonl, .parquet or .csv), "
                "or give --out - to print to the terminal on purpose",
            )
            return 2
        args.out = "-"
    if args.households < 1:
        _say(args, "--households 应至少为 1", "--households must be at least 1")
        return 2
    try:
        kind = "jsonl" if args.out == "-" else file_format(args.out)
    except CaseloadFileError as error:
        _say(args, error.text.zh, error.text.en)
        return 2
    as_of = args.as_of or synthetic.DEFAULT_AS_OF
    rule_base = load_rules(args.rules)
    bundle = _resolve(args, rule_base, args.jurisdiction, as_of)
    if bundle is None:
        return 2
    standards = {k: str(v) for k, v in bundle.rules.standard.items()}
    jobs = [
        (args.jurisdiction, start, min(synthetic.BLOCK, args.households - start), args.seed,
         as_of.isoformat(), standards, kind)
        for start in range(0, args.households, synthetic.BLOCK)
    ]  # fmt: skip
    workers = max(1, min(args.workers or os.cpu_count() or 1, len(jobs)))
    out = None if args.out == "-" else Path(args.out)
    # written beside the target and renamed at the end: a stopped run leaves no truncated file
    partial = None if out is None else out.with_name(out.name + ".partial")
    pool = None
    try:
        with sigterm_stops():
            if workers > 1:
                pool = multiprocessing.get_context("fork").Pool(workers, _ignore_sigint)
            blocks = pool.imap(_generate_block, jobs) if pool else map(_generate_block, jobs)
            _write_generated(blocks, kind, partial, layout)
            if pool:
                pool.close()
                pool.join()
    except KeyboardInterrupt as stop:
        if pool:
            pool.terminate()
            pool.join()
        if partial is not None:
            partial.unlink(missing_ok=True)
        _say(args, "已停止，未写入文件", "stopped; no file written")
        return 143 if isinstance(stop, Stopped) else 130
    if out is not None and partial is not None:
        os.replace(partial, out)
        name = rule_base.jurisdictions[args.jurisdiction].name_zh
        _say(
            args,
            f"已写入 {args.households:,} 户（{name}，决定日期 {as_of}，种子 {args.seed}）到 {out}",
            f"wrote {args.households:,} households of {args.jurisdiction} as of {as_of} "
            f"(seed {args.seed}) to {out}",
        )
    return 0


def _write_generated(blocks: Any, kind: str, path: Path | None, layout: Any) -> None:
    if path is None:
        for text in blocks:
            sys.stdout.write(text)
        sys.stdout.flush()
    elif kind == "jsonl":
        with open(path, "w", encoding="utf-8") as handle:
            for text in blocks:
                handle.write(text)
    elif kind == "csv":
        import csv

        # with a byte-order mark, so Excel reads the file as UTF-8
        with open(path, "w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(layout.COLUMNS))
            writer.writeheader()
            for records in blocks:
                writer.writerows(records)
    else:
        import pyarrow.parquet as pq

        with pq.ParquetWriter(path, layout.arrow_schema()) as writer:
            for table in blocks:
                writer.write_table(table)


# --- evaluate / whatif -----------------------------------------------------------------------------


def _resolve(args: argparse.Namespace, base: Any, jurisdiction: str, on: date) -> Any:
    from service.engine import BeforeFirstVersion, UnknownJurisdiction

    try:
        return base.resolve(jurisdiction, on)
    except UnknownJurisdiction as error:
        known = ", ".join(error.known)
        _say(
            args,
            f"未知的辖区 {jurisdiction}；可用：{known}",
            f"unknown jurisdiction {jurisdiction}; known: {known}",
        )
    except BeforeFirstVersion as error:
        first = error.first.isoformat()
        _say(
            args,
            f"{jurisdiction} 在 {first} 之前没有规则（所问日期 {on.isoformat()}）",
            f"{jurisdiction} has no rules before {first} (asked {on.isoformat()})",
        )
    return None


def _scenarios(args: argparse.Namespace, whatif: bool) -> Any:
    """The run's scenarios, or None after saying what is wrong with the command line."""
    from service.caseload.scenarios import RecordDefaults, Scenarios
    from service.engine import load_rules

    for flag, value, option in (
        (args.force_jurisdiction, args.jurisdiction, "--jurisdiction"),
        (args.force_as_of, args.as_of, "--as-of"),
    ):
        if flag and value is None:
            name = option.removeprefix("--")
            _say(
                args,
                f"--force-{name} 需要同时给出 {option}",
                f"--force-{name} needs {option}",
            )
            return None
    rule_base = load_rules(args.rules)
    scenarios = Scenarios(
        rule_base,
        RecordDefaults(args.jurisdiction, args.as_of, args.force_jurisdiction, args.force_as_of),
        whatif=whatif,
        compare_as_of=getattr(args, "compare_as_of", None),
        overrides=tuple(args.settings),
    )
    problems = scenarios.check()
    if problems:
        _say(args, "命令行有误：", "the command line is not valid:")
        for item in problems:
            _say(
                args,
                f"  {item['path']}: {item['reason_zh']}",
                f"  {item['path']}: {item['reason_en']}",
            )
        return None
    return scenarios


def _run(args: argparse.Namespace, scenarios: Any, parts: Path) -> Any:
    from service.caseload.chunks import CaseloadFileError
    from service.caseload.run import DEFAULT_CHUNK, run, stderr_if_terminal

    try:
        return run(
            args.file,
            scenarios,
            parts,
            workers=args.workers,
            chunk_size=args.chunk_size or DEFAULT_CHUNK,
            progress=stderr_if_terminal(not args.no_progress),
        )
    except CaseloadFileError as error:
        _say(
            args, f"无法读取个案文件：{error.text.zh}", f"cannot read the caseload: {error.text.en}"
        )
        return None


def _stopped(args: argparse.Namespace, stop: KeyboardInterrupt, parts: Path) -> int:
    from service.caseload.run import Stopped

    _say(
        args,
        f"已停止；已完成的部分保存在 {parts}，用同样的参数再次运行即可从停下处继续",
        f"stopped; the chunks done are kept in {parts}: run the same command again to resume",
    )
    return 143 if isinstance(stop, Stopped) else 130


def _jurisdiction_name(rule_base: Any, jurisdiction: str) -> str:
    meta = rule_base.jurisdictions.get(jurisdiction)
    return f"{meta.name_zh} {jurisdiction}" if meta is not None else jurisdiction


def _record_lines(scenarios: Any, counts: Any) -> list[str]:
    """What the run did to the records' own jurisdictions and dates, in both languages."""
    d = scenarios.defaults
    lines = []
    if d.force_jurisdiction or d.force_as_of:
        forced = ", ".join(
            text
            for flag, text in (
                (d.force_jurisdiction, f"--force-jurisdiction {d.jurisdiction}"),
                (d.force_as_of, f"--force-as-of {d.as_of}"),
            )
            if flag
        )
        n = counts.overridden_records
        lines.append(f"记录自带的辖区或日期被覆盖：{n:,} 户（{forced}）")
        lines.append(f"records whose own jurisdiction or date was overridden: {n:,} ({forced})")
    filled = [
        (name, number, value)
        for name, number, value in (
            ("jurisdiction", counts.defaulted_jurisdiction, d.jurisdiction),
            ("as_of", counts.defaulted_as_of, d.as_of),
        )
        if number
    ]
    if filled:
        zh = "，".join(f"{name} {n:,} 户（{value}）" for name, n, value in filled)
        en = ", ".join(f"{name} {n:,} ({value})" for name, n, value in filled)
        lines.append(f"记录缺少、按默认值补上：{zh}")
        lines.append(f"records without one that took the default: {en}")
    for option, number, value in (
        ("jurisdiction", counts.kept_jurisdiction, d.jurisdiction),
        ("as-of", counts.kept_as_of, d.as_of),
    ):
        if number:
            lines.append(
                f"注意：{number:,} 户按记录自带的{'辖区' if option == 'jurisdiction' else '日期'}"
                f"决定，而非 --{option} {value}；如要改用它，请加 --force-{option}"
            )
            lines.append(
                f"note: {number:,} records were decided under their own {option.replace('-', '_')}"
                f", not --{option} {value}; add --force-{option} to override them"
            )
    return lines


def _bundle_lines(rule_base: Any, bundles: list[dict[str, Any]], whatif: bool) -> list[str]:
    lines = []
    for entry in bundles[:LISTED_BUNDLES]:
        name = _jurisdiction_name(rule_base, entry["jurisdiction"])
        if whatif:
            old, new = entry["baseline"], entry["changed"]
            lines.append(
                f"  {name}: {old['version']} ({old['sha256'][:12]}…) → "
                f"{new['version']} ({new['sha256'][:12]}…) · {entry['households']:,} 户 households"
            )
        else:
            lines.append(
                f"  {name}: {entry['version']} sha256 {entry['sha256'][:12]}… · "
                f"{entry['households']:,} 户 households"
            )
    if len(bundles) > LISTED_BUNDLES:
        more = len(bundles) - LISTED_BUNDLES
        lines.append(f"  另有 {more} 个，见 --json · {more} more, see --json")
    return lines


def cmd_evaluate(args: argparse.Namespace) -> int:
    from service.caseload.run import (
        format_summary,
        sigterm_stops,
        single_bundle,
        summarize,
        write_errors,
        write_results,
    )

    if args.out.suffix.lower() not in RESULT_SUFFIXES:
        _say(
            args,
            "--out 的文件名应以 .parquet、.jsonl 或 .csv 结尾",
            "--out must end in .parquet, .jsonl or .csv",
        )
        return 2
    scenarios = _scenarios(args, whatif=False)
    if scenarios is None:
        return 2
    parts = args.out.with_name(args.out.name + ".parts")
    try:
        with sigterm_stops():
            result = _run(args, scenarios, parts)
    except KeyboardInterrupt as stop:
        return _stopped(args, stop, parts)
    if result is None:
        return 2
    table = result.tables[0]
    write_results(table, args.out)
    errors_path = args.errors or args.out.with_name(args.out.name + ".errors.jsonl")
    write_errors(result.errors, errors_path)
    shutil.rmtree(parts, ignore_errors=True)
    summary = summarize(table)
    summary.update(
        defaults=scenarios.defaults.describe(),
        bundle=single_bundle(summary["bundles"], None),
        **result.counts.summary(),
        refused=len(result.errors),
        resumed_chunks=result.resumed_chunks,
        seconds=round(result.seconds, 3),
        results=str(args.out),
        errors=str(errors_path),
    )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 1 if result.errors else 0
    n, refused = table.num_rows, len(result.errors)
    heading = [
        f"个案评估：已评估 {n:,} 户，拒绝 {refused:,} 户 · {result.seconds:.1f} 秒",
        f"caseload: {n:,} households evaluated, {refused:,} refused · {result.seconds:.1f} s",
        "规则 rules:",
        *_bundle_lines(scenarios.rule_base, summary["bundles"], whatif=False),
        *_record_lines(scenarios, result.counts),
    ]
    if result.resumed_chunks:
        chunks = result.resumed_chunks
        heading.append(f"续跑：沿用已完成的 {chunks} 块 · resumed: {chunks} chunks already done")
    sys.stdout.write(format_summary(summary, heading))
    print(f"结果 results: {args.out}   被拒的行 refused rows: {errors_path}")
    return 1 if result.errors else 0


def cmd_whatif(args: argparse.Namespace) -> int:
    from service.caseload.chart import whatif_chart
    from service.caseload.run import (
        compare,
        describe_whatif,
        format_whatif,
        sigterm_stops,
        summarize,
        write_errors,
        write_results,
    )

    scenarios = _scenarios(args, whatif=True)
    if scenarios is None:
        return 2
    out: Path = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    parts = out / ".parts"
    try:
        with sigterm_stops():
            result = _run(args, scenarios, parts)
    except KeyboardInterrupt as stop:
        return _stopped(args, stop, parts)
    if result is None:
        return 2
    before, after = result.tables
    report, diff = compare(before, after)
    diff_path = out / f"diff.{args.diff_format}"
    write_results(diff, diff_path, args.diff_format)
    change_zh, change_en = _change_text(args)
    chart_path = out / "chart.png"
    whatif_chart(
        before,
        after,
        report,
        chart_path,
        f"假设分析：{change_zh}",
        scenarios.rule_base,
    )
    errors_path = out / "errors.jsonl"
    write_errors(result.errors, errors_path)
    describe_whatif(report, scenarios, result.counts)
    report.update(
        before=summarize(before),
        after=summarize(after),
        refused=len(result.errors),
        resumed_chunks=result.resumed_chunks,
        seconds=round(result.seconds, 3),
        diff=str(diff_path),
        chart=str(chart_path),
        errors=str(errors_path),
    )
    (out / "summary.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    shutil.rmtree(parts, ignore_errors=True)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 1 if result.errors else 0
    n, refused = before.num_rows, len(result.errors)
    heading = [
        f"假设分析：{change_zh} · 已评估 {n:,} 户，拒绝 {refused:,} 户",
        f"what-if: {change_en} · {n:,} households evaluated, {refused:,} refused",
        "规则 rules (基线 baseline → 变更 changed):",
        *_bundle_lines(scenarios.rule_base, report["bundles"], whatif=True),
        *_record_lines(scenarios, result.counts),
    ]
    sys.stdout.write(format_whatif(report, heading))
    print(
        f"差异 diff: {diff_path}   图表 chart: {chart_path}   汇总 summary: {out / 'summary.json'}"
    )
    if result.errors:
        print(f"被拒的行 {refused:,} 行 · {refused:,} rows refused: {errors_path}")
    return 1 if result.errors else 0


def _change_text(args: argparse.Namespace) -> tuple[str, str]:
    settings = ", ".join(f"{k}={v}" for k, v in args.settings)
    zh, en = [], []
    if args.compare_as_of:
        zh.append(f"改用 {args.compare_as_of} 施行的规则")
        en.append(f"the rules in force on {args.compare_as_of}")
    if settings:
        zh.append(settings)
        en.append(settings)
    return ("；".join(zh) or "无变更"), ("; ".join(en) or "no change")

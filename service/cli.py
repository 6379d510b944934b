"""The ``eligibility`` command line.

    eligibility evaluate FILE|-            one request → the contract's response JSON
    eligibility evaluate --jsonl FILE|-    one request per line → one response (or error) per line
    eligibility evaluate --explain [--lang zh|en|both] FILE|-
                                           a readable summary for a clerk (Chinese, then English)
    eligibility rules list | show J [--as-of D] | diff J D1 D2 | validate

Exit codes: 0 success; 1 the input was refused (problems printed as JSON on stdout, as sentences
with --explain);
2 the rule files are invalid or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from service.bilingual import LANGS, Lang, Text
from service.engine import Engine, RequestRejected, RuleSetError, diff_bundles, load_rules
from service.engine.bundle import DEFAULT_RULES_DIR, BeforeFirstVersion, UnknownJurisdiction
from service.explain import explain, explain_refusal

Command = Callable[[argparse.Namespace], int]
# Other packages (the HTTP service, the store) add their sub-commands here.
EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def _dump(data: Any, out: TextIO, *, pretty: bool = True) -> None:
    if pretty:
        out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        out.write(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")


def _open(path: str) -> TextIO:
    return sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115


def _engine(args: argparse.Namespace) -> Engine:
    return Engine(args.rules)


def _lines(handle: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield number, line


def cmd_evaluate(args: argparse.Namespace) -> int:
    engine = _engine(args)
    out = sys.stdout
    if args.jsonl:
        refused = 0
        with _open(args.file) as handle:
            for number, line in _lines(handle):
                try:
                    response = engine.evaluate(line.encode("utf-8"))
                except RequestRejected as error:
                    refused += 1
                    response = {"line": number, "errors": error.problems}
                _dump(response, out, pretty=False)
        return 0 if refused == 0 else 1
    with _open(args.file) as handle:
        text = handle.read()
    try:
        response = engine.evaluate(text.encode("utf-8"))
    except RequestRejected as error:
        if args.explain:
            out.write(explain_refusal(error.problems, _lang(args)))
        else:
            _dump({"errors": error.problems}, out)
        return 1
    if args.explain:
        place = engine.rule_base.jurisdictions[response["ruleset"]["id"]]
        out.write(explain(response, Text(place.name_zh, place.name_en), _lang(args)))
    else:
        _dump(response, out)
    return 0


def _lang(args: argparse.Namespace) -> Lang:
    # not set on `evaluate` (its default is suppressed): a --lang given elsewhere, or both
    lang: Lang = getattr(args, "lang", None) or "both"
    return lang


def cmd_rules_list(args: argparse.Namespace) -> int:
    _dump(load_rules(args.rules).describe(), sys.stdout)
    return 0


def cmd_rules_show(args: argparse.Namespace) -> int:
    base = load_rules(args.rules)
    try:
        bundle = base.resolve(args.jurisdiction, args.as_of or date.today())
    except (UnknownJurisdiction, BeforeFirstVersion) as error:
        print(error, file=sys.stderr)
        return 2
    data = bundle.canonical()
    data["sha256"] = bundle.sha256
    data["origins"] = dict(sorted(bundle.origins.items()))
    _dump(data, sys.stdout)
    return 0


def cmd_rules_diff(args: argparse.Namespace) -> int:
    base = load_rules(args.rules)
    try:
        old = base.resolve(args.jurisdiction, args.date1)
        new = base.resolve(args.jurisdiction, args.date2)
    except (UnknownJurisdiction, BeforeFirstVersion) as error:
        print(error, file=sys.stderr)
        return 2
    _dump(
        {
            "jurisdiction": args.jurisdiction,
            "from": {
                "date": args.date1.isoformat(),
                "version": old.version.isoformat(),
                "sha256": old.sha256,
            },
            "to": {
                "date": args.date2.isoformat(),
                "version": new.version.isoformat(),
                "sha256": new.sha256,
            },
            "changes": diff_bundles(old, new),
        },
        sys.stdout,
    )
    return 0


def cmd_rules_validate(args: argparse.Namespace) -> int:
    base = load_rules(args.rules)  # raises RuleSetError, reported by main()
    count = sum(len(base.switch_dates(j)) for j in base.known())
    files = sum(len(v) for v in base.versions.values())
    print(
        f"OK: {len(base.known())} jurisdictions, {files} version files, {count} bundles validated"
    )
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eligibility", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rules", type=Path, default=DEFAULT_RULES_DIR, help="rules folder (default: %(default)s)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="evaluate a request (JSON) or many (--jsonl)")
    ev.add_argument("file", help="request file, or - for standard input")
    mode = ev.add_mutually_exclusive_group()
    mode.add_argument("--jsonl", action="store_true", help="one request per line")
    mode.add_argument(
        "--explain",
        action="store_true",
        help="readable summary for a clerk (a refused request: its problems, as sentences)",
    )
    ev.add_argument(
        "--lang",
        choices=LANGS,
        default=argparse.SUPPRESS,
        help="language of --explain: zh, en or both, Chinese first (default: both)",
    )
    ev.set_defaults(func=cmd_evaluate)

    rules = sub.add_parser("rules", help="inspect and validate the rule sets")
    rsub = rules.add_subparsers(dest="rules_command", required=True)
    rsub.add_parser("list", help="jurisdictions and their versions").set_defaults(
        func=cmd_rules_list
    )
    show = rsub.add_parser("show", help="the resolved bundle, its hash and provenance")
    show.add_argument("jurisdiction")
    show.add_argument("--as-of", type=_date, default=None, help="date (default: today)")
    show.set_defaults(func=cmd_rules_show)
    diff = rsub.add_parser(
        "diff", help="parameters changed between the bundles in force on two dates"
    )
    diff.add_argument("jurisdiction")
    diff.add_argument("date1", type=_date)
    diff.add_argument("date2", type=_date)
    diff.set_defaults(func=cmd_rules_diff)
    rsub.add_parser("validate", help="validate every rule set").set_defaults(
        func=cmd_rules_validate
    )

    for extend in EXTENSIONS:
        extend(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    _load_extensions()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RuleSetError as error:
        print(f"rule files are invalid ({len(error.problems)} problems):", file=sys.stderr)
        for item in error.problems:
            print(f"  {item}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"file not found: {error.filename}", file=sys.stderr)
        return 2


def _load_extensions() -> None:
    # The HTTP service registers serve/db/keys if it is present; the engine CLI works without it.
    try:
        import service.api.commands  # noqa: F401
    except ModuleNotFoundError as error:
        if error.name and not error.name.startswith("service.api"):
            raise
    import service.caseload.commands  # noqa: F401  (registers `eligibility caseload …`)


if __name__ == "__main__":
    # `python -m service.cli` runs this file as __main__, a second copy of the module; the
    # packages that add sub-commands register them on `service.cli`, so run that copy's main.
    from service.cli import main as registered_main

    sys.exit(registered_main())

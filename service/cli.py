"""The eligibility command line (社会救助资格认定规则引擎命令行).

    eligibility evaluate FILE|-            one request → the contract's response JSON
    eligibility evaluate --jsonl FILE|-    one request per line → one response (or error) per line
    eligibility evaluate --explain [--lang zh|en|both] FILE|-
                                           a readable summary for a clerk (Chinese, then English)
    eligibility rules list | show J [PARAMETER] [--as-of D] | diff J D1 D2 | validate
    eligibility --version

and the sub-commands of the packages below, which this module imports and adds:
``serve``, ``db`` and ``keys`` (:mod:`service.api.commands`), ``caseload``
(:mod:`service.caseload.commands`).

Exit codes: 0 success; 1 the input was refused (problems printed as JSON on stdout, as sentences
with --explain); 2 the rule files are invalid, a file cannot be read, or the command line is
wrong (the reason printed on standard error in Chinese, then English).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, TextIO

from service.api import commands as service_commands
from service.bilingual import LANGS, BilingualError, Lang, Text
from service.caseload import commands as caseload_commands
from service.engine import Decider, RequestRejected, RuleSetError, diff_bundles, load_rules
from service.engine.bundle import DEFAULT_RULES_DIR, BeforeFirstVersion, UnknownJurisdiction
from service.engine.dates import CalendarOverflow
from service.engine.version import ENGINE_VERSION
from service.explain import explain, explain_refusal

Command = Callable[[argparse.Namespace], int]


def _dump(data: Any, out: TextIO, *, pretty: bool = True) -> None:
    if pretty:
        out.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        out.write(json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")


def _open(path: str) -> TextIO:
    return sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115


def _decider(args: argparse.Namespace) -> Decider:
    return Decider(args.rules)


def _lines(handle: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            yield number, line


def _decide(decider: Decider, text: str) -> dict[str, Any]:
    """The response to one request; RequestRejected, with the problems, if it is refused (a date
    too late for the rules to count forward from included: a message, not a traceback)."""
    request = decider.parse(text.encode("utf-8"))
    try:
        return decider.evaluate(request)
    except CalendarOverflow as overflow:
        raise RequestRejected([overflow.problem(request)]) from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    decider = _decider(args)
    out = sys.stdout
    if args.jsonl:
        refused = 0
        with _open(args.file) as handle:
            for number, line in _lines(handle):
                try:
                    response = _decide(decider, line)
                except RequestRejected as error:
                    refused += 1
                    response = {"line": number, "errors": error.problems}
                _dump(response, out, pretty=False)
        return 0 if refused == 0 else 1
    with _open(args.file) as handle:
        text = handle.read()
    try:
        response = _decide(decider, text)
    except RequestRejected as error:
        if args.explain:
            out.write(explain_refusal(error.problems, _lang(args)))
        else:
            _dump({"errors": error.problems}, out)
        return 1
    if args.explain:
        place = decider.rule_base.jurisdictions[response["ruleset"]["id"]]
        out.write(explain(response, Text(place.name_zh, place.name_en), _lang(args)))
    else:
        _dump(response, out)
    return 0


def _lang(args: argparse.Namespace | None) -> Lang:
    # not set on `evaluate` unless given (its default is suppressed): a --lang given, or both
    lang: Lang = getattr(args, "lang", None) or "both"
    return lang


def _say(text: Text, args: argparse.Namespace | None = None, out: TextIO | None = None) -> None:
    """Print a message for a person, in the language asked for (both by default)."""
    print(text.render(_lang(args)), file=out or sys.stderr)


def cmd_rules_list(args: argparse.Namespace) -> int:
    _dump(load_rules(args.rules).describe(), sys.stdout)
    return 0


def cmd_rules_show(args: argparse.Namespace) -> int:
    base = load_rules(args.rules)
    try:
        bundle = base.resolve(args.jurisdiction, args.as_of or date.today())
    except (UnknownJurisdiction, BeforeFirstVersion) as error:
        _say(error.text, args)
        return 2
    parameters = bundle.parameters
    if args.parameter:
        try:
            parameters = bundle.select(args.parameter)
        except RuleSetError as error:  # no such parameter: the nearest ones are named
            for item in error.problems:
                _say(item.text, args)
            return 2
    data = bundle.canonical()
    data["parameters"] = {k: dict(v) for k, v in parameters.items()}
    data["sha256"] = bundle.sha256
    data["origins"] = {k: v for k, v in sorted(bundle.origins.items()) if k in parameters}
    _dump(data, sys.stdout)
    return 0


def cmd_rules_diff(args: argparse.Namespace) -> int:
    base = load_rules(args.rules)
    try:
        old = base.resolve(args.jurisdiction, args.date1)
        new = base.resolve(args.jurisdiction, args.date2)
    except (UnknownJurisdiction, BeforeFirstVersion) as error:
        _say(error.text, args)
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
    jurisdictions = len(base.known())
    bundles = sum(len(base.switch_dates(j)) for j in base.known())
    files = sum(len(v) for v in base.versions.values())
    _say(
        Text(
            f"通过：{jurisdictions} 个辖区、{files} 个版本文件、{bundles} 个规则包均已校验",
            f"OK: {jurisdictions} jurisdictions, {files} version files, {bundles} bundles validated",
        ),
        args,
        sys.stdout,
    )
    return 0


def _date(text: str) -> date:
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(
        f"不是日期，应写作 YYYY-MM-DD：{text!r} / not a date written YYYY-MM-DD: {text!r}"
    )


# --- the parser ------------------------------------------------------------------------------------

# argparse's own error messages (English only) → Chinese, by their wording.
_ARGPARSE_ZH: tuple[tuple[str, str], ...] = (
    (r"the following arguments are required: (.+)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.+)", r"无法识别的参数：\1"),
    (r"one of the arguments (.+) is required", r"以下参数须给出其中一个：\1"),
    (r"ambiguous option: (\S+) could match (.+)", r"选项 \1 有歧义，可能是：\2"),
    (r"invalid choice: (.+?) \(choose from (.+)\)", r"无效的选择 \1（可选：\2）"),
    (r"expected one argument", "需要一个值"),
    (r"expected at most one argument", "最多只能有一个值"),
    (r"expected at least one argument", "至少需要一个值"),
    (r"expected (\d+) arguments?", r"需要 \1 个值"),
    (r"not allowed with argument (.+)", r"不能与参数 \1 同时使用"),
    (r"invalid int value: (.+)", r"应为整数：\1"),
    (r"invalid float value: (.+)", r"应为数字：\1"),
    (r"invalid \S+ value: (.+)", r"取值无效：\1"),
    (r"ignored explicit argument (.+)", r"此选项不接受值：\1"),
)


def argparse_text(message: str) -> Text:
    """One of argparse's error messages in Chinese and English."""
    argument = re.fullmatch(r"argument (\S+?): (.+)", message, re.DOTALL)
    if argument:
        name, rest = argument.groups()
        inner = argparse_text(rest)
        return Text(f"参数 {name}：{inner.zh}", f"argument {name}: {inner.en}")
    zh, sep, en = message.partition(" / ")
    if sep and re.search(r"[\u4e00-\u9fff]", zh):  # our own bilingual messages
        return Text(zh, en)
    for pattern, chinese in _ARGPARSE_ZH:
        match = re.fullmatch(pattern, message, re.DOTALL)
        if match:
            return Text(match.expand(chinese), message)
    return Text(f"命令行有误（见下行英文说明）：{message}", message)


class Parser(argparse.ArgumentParser):
    """argparse with its errors in Chinese and English (sub-command parsers inherit it)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        text = argparse_text(message)
        self.exit(2, f"{self.prog}: 错误：{text.zh}\n{self.prog}: error: {text.en}\n")


def package_version() -> str:
    try:
        return metadata.version("eligibility")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _Version(argparse.Action):
    """``--version``: the installed package's version and the engine's, printed as is."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> NoReturn:
        package = package_version()
        text = Text(
            f"eligibility 软件包版本 {package}，规则引擎版本 {ENGINE_VERSION}",
            f"eligibility package {package}, engine {ENGINE_VERSION}",
        )
        print(text.render())
        parser.exit(0)


def _sub(sub: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    """A sub-command whose own --help starts with the same line as its entry in the list."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=text, description=text)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="eligibility",
        description="社会救助资格认定规则引擎 / social-assistance eligibility rules engine",
        epilog="Exit codes: 0 success; 1 the input was refused; 2 invalid rule files, an "
        "unreadable file or a wrong command line.",
    )
    parser.add_argument("--version", action=_Version, help="print the package and engine versions")
    parser.add_argument(
        "--rules",
        type=Path,
        default=DEFAULT_RULES_DIR,
        help="rules folder (default: %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ev = _sub(sub, "evaluate", "evaluate a request (JSON) or many (--jsonl)")
    ev.add_argument("file", help="request file, or - for standard input")
    mode = ev.add_mutually_exclusive_group()
    mode.add_argument(
        "--jsonl",
        action="store_true",
        help="one request per line; one response or error line each (default: one request)",
    )
    mode.add_argument(
        "--explain",
        action="store_true",
        help="a readable summary for a clerk instead of JSON; a refused request: its problems,"
        " as sentences (default: the response JSON)",
    )
    ev.add_argument(
        "--lang",
        choices=LANGS,
        default=argparse.SUPPRESS,
        help="language of --explain: zh, en or both, Chinese first (default: both)",
    )
    ev.set_defaults(func=cmd_evaluate)

    rules = _sub(sub, "rules", "inspect and validate the rule sets")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    _sub(rsub, "list", "jurisdictions and their versions").set_defaults(func=cmd_rules_list)
    show = _sub(rsub, "show", "the resolved bundle, its hash and provenance")
    show.add_argument("jurisdiction", help="jurisdiction, e.g. wuhan or chongqing/banan")
    show.add_argument(
        "parameter",
        nargs="?",
        default=None,
        help="only this parameter or group, e.g. dibao.standard (default: all parameters)",
    )
    show.add_argument("--as-of", type=_date, default=None, help="date YYYY-MM-DD (default: today)")
    show.set_defaults(func=cmd_rules_show)
    diff = _sub(rsub, "diff", "parameters changed between the bundles in force on two dates")
    diff.add_argument("jurisdiction", help="jurisdiction, e.g. wuhan or chongqing/banan")
    diff.add_argument("date1", type=_date, help="the earlier date, YYYY-MM-DD")
    diff.add_argument("date2", type=_date, help="the later date, YYYY-MM-DD")
    diff.set_defaults(func=cmd_rules_diff)
    _sub(rsub, "validate", "validate every rule set").set_defaults(func=cmd_rules_validate)

    service_commands.register(sub)
    caseload_commands.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RuleSetError as error:
        count = len(error.problems)
        _say(
            Text(
                f"规则文件无效（{count} 个问题）：",
                f"rule files are invalid ({count} problem{'' if count == 1 else 's'}):",
            ),
            args,
        )
        for item in error.problems:
            _say(Text(f"  {item.text.zh}", f"  {item.text.en}"), args)
        return 2
    except FileNotFoundError as error:
        _say(Text(f"找不到文件：{error.filename}", f"file not found: {error.filename}"), args)
        return 2
    except IsADirectoryError as error:
        _say(
            Text(
                f"这是文件夹，不是文件：{error.filename}", f"a folder, not a file: {error.filename}"
            ),
            args,
        )
        return 2
    except PermissionError as error:
        _say(
            Text(f"无权读取文件：{error.filename}", f"no permission to read: {error.filename}"),
            args,
        )
        return 2
    except UnicodeDecodeError:
        _say(Text("输入不是 UTF-8 编码的文本", "the input is not UTF-8 text"), args)
        return 2
    except BilingualError as error:
        _say(error.text, args)
        return 2


if __name__ == "__main__":
    sys.exit(main())

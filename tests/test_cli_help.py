"""``eligibility --version`` and the help of every sub-command.

Every option of every sub-command (those other packages register too) has help text that names
its default where it has one, and no help text carries reST markup (it is printed as is).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata

import pytest

from service import cli
from service.engine.version import ENGINE_VERSION
from tests.helpers import ROOT

REST_MARKUP = re.compile(r"``|`[^`]+`_|:[a-z]+:`|^\.\. [a-z]+::|\*\*[^*]+\*\*", re.MULTILINE)


def parsers(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[argparse.ArgumentParser, dict[str, str]]]:
    """The parser and every sub-command parser under it, each with its sub-commands' help."""
    listed: dict[str, str] = {}
    children: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # noqa: SLF001 -- argparse keeps no public list
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            for choice in action._choices_actions:  # noqa: SLF001
                listed[choice.dest] = choice.help or ""
            children.extend(action.choices.values())
    yield parser, listed
    for child in children:
        yield from parsers(child)


def _all_parsers() -> list[tuple[argparse.ArgumentParser, dict[str, str]]]:
    return list(parsers(cli.build_parser()))


ALL = _all_parsers()


def _case(parser: argparse.ArgumentParser, listed: dict[str, str]) -> object:
    return pytest.param(parser, listed, id=parser.prog)


def test_every_sub_command_is_walked() -> None:
    progs = {p.prog for p, _ in ALL}
    for prog in (
        "eligibility evaluate",
        "eligibility rules show",
        "eligibility rules diff",
        "eligibility serve",
        "eligibility keys create",
        "eligibility caseload whatif",
    ):
        assert prog in progs


@pytest.mark.parametrize(("parser", "listed"), [_case(p, listed) for p, listed in ALL])
def test_every_option_has_help_naming_its_default_and_no_rest_markup(
    parser: argparse.ArgumentParser, listed: dict[str, str]
) -> None:
    problems: list[str] = []
    for name, text in listed.items():
        if not text.strip():
            problems.append(f"sub-command {name}: no help")
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):  # noqa: SLF001
            continue
        name = "/".join(action.option_strings) or action.dest
        text = action.help or ""
        if not text.strip() or text == argparse.SUPPRESS:
            problems.append(f"{name}: no help")
            continue
        # (an empty list, the start of a repeatable option, is no default to name)
        has_default = action.default not in (None, False, argparse.SUPPRESS, []) and not (
            action.required or isinstance(action, argparse._StoreTrueAction)  # noqa: SLF001
        )
        if has_default and "default" not in text.lower():
            problems.append(f"{name}: the help does not name the default {action.default!r}")
    texts = [parser.description or "", parser.epilog or "", *listed.values()]
    texts += [a.help or "" for a in parser._actions]  # noqa: SLF001
    texts.append(parser.format_help())
    for text in texts:
        if REST_MARKUP.search(text):
            problems.append(f"reST markup in {text!r}")
    assert not problems, f"{parser.prog}:\n" + "\n".join(problems)


def test_version_prints_the_package_and_engine_versions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    package = metadata.version("eligibility")
    assert out.splitlines() == [
        f"eligibility 软件包版本 {package}，规则引擎版本 {ENGINE_VERSION}",
        f"eligibility package {package}, engine {ENGINE_VERSION}",
    ]


def test_version_from_the_installed_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "--version"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert f"engine {ENGINE_VERSION}" in done.stdout.decode("utf-8")
    assert metadata.version("eligibility") in done.stdout.decode("utf-8")


def test_the_top_level_help_has_no_rest_markup_and_lists_every_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out
    assert "社会救助资格认定规则引擎" in out
    for command in ("evaluate", "rules", "serve", "db", "keys", "caseload", "--version"):
        assert command in out

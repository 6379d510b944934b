"""Every option of ``eligibility caseload …`` says what it does and its default, in plain text."""

from __future__ import annotations

import argparse

from service.caseload.commands import register


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    caseload = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    ).choices["caseload"]
    sub = next(a for a in caseload._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_has_help_with_its_default_and_no_markup():
    commands = _subcommands()
    assert set(commands) == {"generate", "evaluate", "whatif"}
    for name, command in commands.items():
        assert command.description and "``" not in command.description, name
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            where = f"caseload {name} {'/'.join(action.option_strings) or action.dest}"
            text = action.help or ""
            assert len(text) > 15, where
            assert "``" not in text and ":class:" not in text, where
            if action.option_strings:  # an option (not the positional file)
                assert "(required)" in text if action.required else "default" in text, where

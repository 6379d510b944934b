from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from service.engine import Decider, RuleBase, load_rules
from tests.helpers import ROOT


@pytest.fixture(scope="session")
def rule_base() -> RuleBase:
    return load_rules(ROOT / "rules")


@pytest.fixture(scope="session")
def engine(rule_base: RuleBase) -> Decider:
    return Decider(ROOT / "rules", rule_base=rule_base)


@pytest.fixture(scope="session", autouse=True)
def private_config_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keys the tests make (the log's signing key) go to a folder of the test session, not to
    the user's ``~/.config``; child processes inherit it."""
    previous = os.environ.get("XDG_CONFIG_HOME")
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("config"))
    yield
    if previous is None:
        os.environ.pop("XDG_CONFIG_HOME", None)
    else:
        os.environ["XDG_CONFIG_HOME"] = previous

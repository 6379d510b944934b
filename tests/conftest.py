from __future__ import annotations

import pytest

from service.engine import Engine, RuleBase, load_rules
from tests.helpers import ROOT


@pytest.fixture(scope="session")
def rule_base() -> RuleBase:
    return load_rules(ROOT / "rules")


@pytest.fixture(scope="session")
def engine(rule_base: RuleBase) -> Engine:
    return Engine(ROOT / "rules", rule_base=rule_base)

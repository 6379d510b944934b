from __future__ import annotations

import pytest

from service.engine import Decider, RuleBase, load_rules
from tests.helpers import ROOT


@pytest.fixture(scope="session")
def rule_base() -> RuleBase:
    return load_rules(ROOT / "rules")


@pytest.fixture(scope="session")
def engine(rule_base: RuleBase) -> Decider:
    return Decider(ROOT / "rules", rule_base=rule_base)

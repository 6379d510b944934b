"""Households at the edges of the facts: nobody counted, everybody 特困."""

from __future__ import annotations

from service.contract.response import EvaluationResponse
from service.engine import Decider


def test_a_household_whose_members_are_all_excluded_gets_no_program(engine: Decider) -> None:
    request = {
        "jurisdiction": "chongqing",
        "as_of": "2024-10-01",
        "residence": "urban",
        "household": {
            "members": [
                {
                    "id": "a",
                    "relation": "applicant",
                    "birth_date": "1970-01-01",
                    "excluded": "prison",
                },
                {
                    "id": "b",
                    "relation": "spouse",
                    "birth_date": "1972-01-01",
                    "excluded": "missing",
                },
            ],
            "income": [],
            "assets": {
                "financial": "0",
                "vehicles": [],
                "houses": [{"area_m2": "50", "dilapidated": False}],
                "commercial_property": False,
                "business_capital": "0",
            },
            "rigid_expenditure_12m": {
                "medical": "20000",
                "education": "0",
                "rehabilitation": "0",
                "other": "0",
            },
        },
        "emergency": {"kind": "expenditure", "cause": "medical", "already_assisted": False},
    }
    response = engine.evaluate(request)
    EvaluationResponse.model_validate(response)
    statuses = {name: result["status"] for name, result in response["programs"].items()}
    assert statuses == dict.fromkeys(statuses, "not_applicable")
    assert response["programs"]["tekun"]["members"] == []

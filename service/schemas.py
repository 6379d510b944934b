"""JSON Schemas of the contract and the rule-set file format, generated from the models.

    python -m service.schemas          # rewrite schemas/*.schema.json
    python -m service.schemas --check  # exit 1 if the checked-in files drifted

The checked-in files are what integrators read; a test fails when they drift from the code. The
generator reads the contract's models and the engine's rule-file models, so it stands above both.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from service.contract.request import EvaluationRequest
from service.contract.response import ErrorResponse, EvaluationResponse
from service.engine.ruleset import Jurisdiction, RuleSetVersion

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"

MODELS: dict[str, tuple[type[BaseModel], str]] = {
    "request.schema.json": (EvaluationRequest, "validation"),
    "response.schema.json": (EvaluationResponse, "serialization"),
    "error.schema.json": (ErrorResponse, "serialization"),
    "ruleset-version.schema.json": (RuleSetVersion, "validation"),
    "jurisdiction.schema.json": (Jurisdiction, "validation"),
}


# What a decimal written as a string means in our files: an optional sign, digits and at most one
# decimal point; no exponent, not empty. Pydantic's own pattern changes between minor releases
# (2.14 gives none), and the published schema must say the same whatever version generated it.
DECIMAL_STRING_PATTERN = r"^(?!^[-+.]*$)[+-]?0*\d*\.?\d*$"
# The same without a minus sign (a decimal that may not be negative), and without zero (one that
# must be above zero): the range is said for text as for numbers.
NON_NEGATIVE_DECIMAL_STRING_PATTERN = r"^(?!^[+.]*$)\+?0*\d*\.?\d*$"
POSITIVE_DECIMAL_STRING_PATTERN = r"^(?!^\+?0*\.?0*$)\+?0*\d*\.?\d*$"


def _string_pattern(schema: core_schema.DecimalSchema) -> str:
    lower = schema.get("gt", schema.get("ge"))
    if lower is None or lower < 0:
        return DECIMAL_STRING_PATTERN
    if "gt" in schema or lower > 0:
        return POSITIVE_DECIMAL_STRING_PATTERN
    return NON_NEGATIVE_DECIMAL_STRING_PATTERN


class ContractJsonSchema(GenerateJsonSchema):
    """Pydantic's generator with our own meaning of a decimal string."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        json_schema = super().decimal_schema(schema)
        for branch in json_schema.get("anyOf", [json_schema]):
            if branch.get("type") != "string":
                continue
            if self.mode == "validation":
                branch["pattern"] = _string_pattern(schema)
            else:  # serialised as str(Decimal), which may use an exponent: no pattern
                branch.pop("pattern", None)
        return json_schema


def generate() -> dict[str, str]:
    out = {}
    for name, (model, mode) in MODELS.items():
        schema: dict[str, Any] = model.model_json_schema(
            mode=mode,  # type: ignore[arg-type]
            schema_generator=ContractJsonSchema,
        )
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": name, **schema}
        out[name] = json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    return out


def main(argv: list[str]) -> int:
    generated = generate()
    if "--check" in argv:
        drifted = [
            name
            for name, text in generated.items()
            if not (SCHEMA_DIR / name).exists()
            or (SCHEMA_DIR / name).read_text(encoding="utf-8") != text
        ]
        for name in drifted:
            print(f"schemas/{name} drifted from the models: run python -m service.schemas")
        return 1 if drifted else 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, text in generated.items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
        print(f"wrote schemas/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

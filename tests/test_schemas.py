"""The checked-in JSON Schemas are what integrators read: they match the models, and every
contract example and every response the engine gives fits them (Draft 2020-12)."""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import BaseModel, Field

from service import schemas
from service.engine import Decider, RequestRejected
from service.synthetic import household
from tests.helpers import EXAMPLES, ROOT, load_example

SCHEMA_DIR = ROOT / "schemas"
ALL = sorted(p.name for p in EXAMPLES.glob("*.json"))
# The contract's own copy, in ../shared beside the project where a developer has it (users do not).
SHARED_EXAMPLES = ROOT.parent / "shared" / "contract" / "examples"


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(name: str, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator(name).iter_errors(document)
    ]


def test_schemas_have_not_drifted_from_the_models(capsys: pytest.CaptureFixture[str]) -> None:
    assert schemas.main(["--check"]) == 0, capsys.readouterr().out


def test_a_decimal_string_keeps_our_pattern_whatever_the_pydantic_version() -> None:
    """A decimal in a rule file may be written as a string: a plain decimal number. The schema
    says so itself; pydantic's own pattern differs between its releases (2.14 gives none)."""

    class Amount(BaseModel):
        change: Decimal
        limit: Decimal = Field(ge=0)
        standard: Decimal = Field(gt=0)

    schema = Amount.model_json_schema(
        mode="validation", schema_generator=schemas.ContractJsonSchema
    )
    for name, pattern in (
        ("change", schemas.DECIMAL_STRING_PATTERN),
        ("limit", schemas.NON_NEGATIVE_DECIMAL_STRING_PATTERN),
        ("standard", schemas.POSITIVE_DECIMAL_STRING_PATTERN),
    ):
        assert {"type": "string", "pattern": pattern} in schema["properties"][name]["anyOf"]
    plain = re.compile(schemas.DECIMAL_STRING_PATTERN)
    for text in ("830", "830.00", "0.5", ".5", "-1.5", "+1"):
        assert plain.match(text), text
    for text in ("", "-", ".", "1e3", "8 30", "1.2.3", "NaN"):
        assert not plain.match(text), text
    non_negative = re.compile(schemas.NON_NEGATIVE_DECIMAL_STRING_PATTERN)
    positive = re.compile(schemas.POSITIVE_DECIMAL_STRING_PATTERN)
    for text in ("0", "0.00", "+0", "830.00", ".5"):
        assert non_negative.match(text), text
    for text in ("-1", "-0", "-0.5", "."):
        assert not non_negative.match(text), text
    for text in ("830", "0.01", ".5", "+1"):
        assert positive.match(text), text
    for text in ("0", "0.00", "+0", ".0", "-1", "."):
        assert not positive.match(text), text


def test_check_notices_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in SCHEMA_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    drifted = tmp_path / "request.schema.json"
    data = json.loads(drifted.read_text(encoding="utf-8"))
    data["title"] = "something else"
    drifted.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(schemas, "SCHEMA_DIR", tmp_path)
    assert schemas.main(["--check"]) == 1
    assert "request.schema.json" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name",
    [
        "request.schema.json",
        "response.schema.json",
        "error.schema.json",
        "ruleset-version.schema.json",
        "jurisdiction.schema.json",
    ],
)
def test_schema_files_are_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_example_is_checked() -> None:
    assert len(ALL) == 8
    if SHARED_EXAMPLES.is_dir():  # the contract's own copy, where it is available
        assert sorted(p.name for p in SHARED_EXAMPLES.glob("*.json")) == ALL
        for name in ALL:  # copied as they are
            assert (SHARED_EXAMPLES / name).read_bytes() == (EXAMPLES / name).read_bytes()


@pytest.mark.parametrize("name", ALL)
def test_example_request_and_response_fit_the_schemas(engine: Decider, name: str) -> None:
    request = load_example(name)
    assert errors("request.schema.json", request) == []
    response = engine.evaluate(request)
    assert errors("response.schema.json", response) == []


def test_response_schema_rejects_a_broken_response(engine: Decider) -> None:
    """The check above can fail: a wrong status or a missing field is caught by the schema."""
    response = engine.evaluate(load_example(ALL[0]))
    response["programs"]["dibao"]["status"] = "maybe"
    assert errors("response.schema.json", response)
    response = engine.evaluate(load_example(ALL[0]))
    del response["ruleset"]
    assert errors("response.schema.json", response)


def test_request_schema_rejects_what_the_engine_refuses() -> None:
    request = load_example(ALL[0])
    request["household"]["members"][0]["relation"] = "cousin"
    assert errors("request.schema.json", request)
    request = load_example(ALL[0])
    request["household"]["members"][0]["favourite_colour"] = "blue"
    assert errors("request.schema.json", request)
    request = load_example(ALL[0])
    del request["household"]["members"][0]["birth_date"]
    assert errors("request.schema.json", request)


@pytest.mark.parametrize("seed", range(3))
def test_synthetic_requests_and_responses_fit_the_schemas(engine: Decider, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(40):
        request = household(rng)
        assert errors("request.schema.json", request) == []
        assert errors("response.schema.json", engine.evaluate(request)) == []


def test_refusal_fits_the_error_schema(engine: Decider) -> None:
    request = load_example(ALL[0])
    request["household"]["income"] = [{"member": "nobody", "type": "wage", "monthly": "-1"}]
    with pytest.raises(RequestRejected) as caught:
        engine.evaluate(request)
    body = {"errors": caught.value.problems}
    assert errors("error.schema.json", body) == []


RULE_FILES = sorted(
    p
    for p in (ROOT / "rules").rglob("*.yaml")
    if p.name == "jurisdiction.yaml" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.stem)
)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.relative_to(ROOT / "rules").as_posix())
def test_rule_files_fit_their_schemas(path: Path) -> None:
    data = json.loads(json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), default=str))
    name = "jurisdiction.schema.json" if path.name == "jurisdiction.yaml" else None
    name = name or "ruleset-version.schema.json"
    assert errors(name, data) == []


@pytest.mark.parametrize(
    ("path", "value", "accepted"),
    [
        (("disposable_income", "urban"), "-61693", False),  # above 0
        (("disposable_income", "urban"), "0", False),
        (("disposable_income", "urban"), "61693", True),
        (("dibao", "standard", "urban"), "0.00", False),  # a standard: above 0
        (("temporary", "advance_cap"), "-1", False),  # money: 0 or more
        (("temporary", "advance_cap"), "0", True),
    ],
)
def test_the_rule_file_schema_gives_each_parameter_its_range(
    path: tuple[str, ...], value: str, accepted: bool
) -> None:
    # A policy officer's editor validates YAML against this schema: a value the loader refuses
    # must be refused there too, written as text as the rule files write it.
    text = (ROOT / "rules" / "wuhan" / "2024-01-01.yaml").read_text("utf-8")
    document = json.loads(json.dumps(yaml.safe_load(text), default=str))
    leaf = document.setdefault("parameters", {})
    for key in path:
        leaf = leaf.setdefault(key, {})
    leaf.update({"value": value, "source": "test", "confidence": "S"})
    found = errors("ruleset-version.schema.json", document)
    assert (not found) is accepted, found

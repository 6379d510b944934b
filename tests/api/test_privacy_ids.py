"""An ID number cannot be rebuilt from what the service stores.

The attack of the report: read every column of every table after a decision is recorded, take
what they say about a member (birth date, jurisdiction, the masked ID number, any other ID-shaped
text), and list every ID number consistent with all of it (GB 11643: 6 region digits, the
8-digit birth date, a 3-digit sequence, the check digit computed from the other 17). The
earlier mask ``4201**********123X`` left about 9; without the pseudonymisation key at least
10,000 must remain, and the key must be nowhere the data is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterator
from itertools import product
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import inspect, text

from service.contract.request import id_number_check_digit
from tests.api.conftest import ROOT, Api
from tests.helpers import load_example

ID_NUMBER = "42010619790308123X"  # m1 of the Wuhan example
ID_SHAPED = re.compile(r"(?<![0-9A-Za-z*])[0-9*]{17}[0-9Xx*](?![0-9A-Za-z*])")


def stored_values(api: Api) -> list[str]:
    """Every value of every column of every table, as text (PostgreSQL decompresses them)."""
    engine = api.store.engine
    values = []
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                values.extend(str(value) for value in row if value is not None)
    return values


def json_objects(values: list[str]) -> Iterator[dict[str, Any]]:
    """Every JSON object inside the stored values, nested ones included."""

    def walk(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            yield node
            for child in node.values():
                yield from walk(child)
        elif isinstance(node, list):
            for child in node:
                yield from walk(child)

    for value in values:
        try:
            yield from walk(json.loads(value))
        except ValueError:
            continue


def what_is_stored_about(member: str, values: list[str]) -> dict[str, Any]:
    """Birth date, jurisdiction and masked ID number of ``member``, read from the stored rows."""
    facts: dict[str, Any] = {"masks": set()}
    for obj in json_objects(values):
        if isinstance(obj.get("jurisdiction"), str):
            facts["jurisdiction"] = obj["jurisdiction"]
        if obj.get("id") == member and "birth_date" in obj:
            facts["birth_date"] = obj["birth_date"]
        personal = obj.get("personal")
        if isinstance(personal, dict) and isinstance(personal.get(member), dict):
            mask = personal[member].get("id_number_masked")
            if mask:
                facts["masks"].add(mask)
    # Any other ID-shaped text anywhere (a mask stored elsewhere, a derived column ...).
    for value in values:
        facts["masks"].update(m for m in ID_SHAPED.findall(value) if re.search(r"\d", m))
    return facts


def region_prefix(jurisdiction: str) -> str:
    """The digits of the jurisdiction's division code that every region code under it shares
    (420100 Wuhan → 4201; a district's code is whole): public knowledge, like the rules."""
    meta = yaml.safe_load((ROOT / "rules" / jurisdiction / "jurisdiction.yaml").read_text())
    code = str(meta["division_code"])
    while code.endswith("00"):
        code = code[:-2]
    return code


def fits(number: str, mask: str) -> bool:
    return len(number) == len(mask) and all(
        m == "*" or m.upper() == n for m, n in zip(mask, number, strict=True)
    )


def candidates(facts: dict[str, Any]) -> list[str]:
    """Every valid ID number consistent with the stored facts (masks of other people, whose
    visible birth digits disagree with this member's, are not this member's)."""
    birth = facts["birth_date"].replace("-", "")
    prefix = region_prefix(facts["jurisdiction"])
    masks = [m for m in facts["masks"] if fits(m[:6] + birth + m[14:], m)]
    # A mask that shows region digits tells the region (a person may be registered elsewhere).
    shown = {m[:6] for m in masks if "*" not in m[:6]}
    if shown:
        regions = sorted(shown)
    else:
        free = 6 - len(prefix)
        regions = [prefix + "".join(d) for d in product("0123456789", repeat=free)]
    found = []
    for region in regions:
        for sequence in range(1000):
            first17 = f"{region}{birth}{sequence:03d}"
            number = first17 + id_number_check_digit(first17)
            if all(fits(number, mask) for mask in masks):
                found.append(number)
    return found


def test_the_earlier_mask_left_a_handful_of_candidates() -> None:
    """The attack itself, on the mask stored before: it must find the few the report found."""
    facts = {"birth_date": "1979-03-08", "jurisdiction": "wuhan", "masks": {"4201**********123X"}}
    found = candidates(facts)
    assert ID_NUMBER in found and len(found) < 20


def test_an_id_number_cannot_be_rebuilt_from_the_stored_rows(
    api_factory: Callable[..., Api], db_url: str, tmp_path: Path
) -> None:
    data, keys = tmp_path / "data", tmp_path / "keys"
    api = api_factory(db_url, data_dir=data, keys_dir=keys, secret=None)  # a generated key
    body = load_example("wuhan-dibao-household-eligible.json")
    assert body["household"]["members"][0]["id_number"] == ID_NUMBER
    recorded = api.post_decision(body)
    assert recorded.status_code == 201

    values = stored_values(api)
    facts = what_is_stored_about("m1", values)
    assert facts["birth_date"] == "1979-03-08" and facts["jurisdiction"] == "wuhan"
    assert facts["masks"], "the masked form is stored"
    found = candidates(facts)
    assert ID_NUMBER in found  # the attack is sound: the real number is among them
    assert len(found) >= 10_000, len(found)

    # The key that would pick the right one is not with the data: not in the database, not in
    # the data folder (SQLite file, WAL, anything else there), not under it.
    key_file = api.settings.pseudonym_key_path
    assert key_file.parent == keys and not key_file.is_relative_to(data)
    key = key_file.read_bytes().strip()
    assert all(key.decode() not in value for value in values)
    for path in data.rglob("*"):
        if path.is_file():
            assert key not in path.read_bytes(), path
    # With the key, the stored pseudonym picks exactly one: the key is what protects them.
    [pseudonym] = {
        obj["personal"]["m1"]["id_number_pseudonym"]
        for obj in json_objects(values)
        if isinstance(obj.get("personal"), dict) and "m1" in obj["personal"]
    }

    def mac(number: str) -> str:
        return hmac.new(key, f"id_number\x00{number}".encode(), hashlib.sha256).hexdigest()

    assert [number for number in found if mac(number) == pseudonym] == [ID_NUMBER]

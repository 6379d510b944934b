"""Names and ID numbers: pseudonymised and masked before storage, never in rows, logs or errors."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import stat
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from tests.api.conftest import TEST_SECRET, Api
from tests.helpers import load_example

NAME = "王某"  # in the Wuhan example
ID_NUMBER = "42010619790308123X"
OTHER_NAME = "李小红"
OTHER_ID = "420106198111200020"  # m2 of the same example: born 1981-11-20


def household_with_people() -> dict:
    body = load_example("wuhan-dibao-household-eligible.json")
    body["household"]["members"][1]["name"] = OTHER_NAME
    body["household"]["members"][1]["id_number"] = OTHER_ID
    assert body["household"]["members"][0]["name"] == NAME
    assert body["household"]["members"][0]["id_number"] == ID_NUMBER
    return body


def forms(value: str) -> list[bytes]:
    """Every way the value could sit in a file: UTF-8, JSON-escaped, UTF-16 (PostgreSQL never)."""
    return [
        value.encode("utf-8"),
        json.dumps(value).strip('"').encode("ascii"),  # \\u738b\\u67d0
        value.encode("utf-16-le"),
    ]


SECRETS = [NAME, ID_NUMBER, OTHER_NAME, OTHER_ID, ID_NUMBER.lower(), ID_NUMBER[6:14] + "123X"]


def assert_absent(blob: bytes, where: str) -> None:
    for value in SECRETS:
        for form in forms(value):
            assert form not in blob, f"{value!r} found in {where}"


def database_bytes(api: Api) -> bytes:
    url = api.settings.database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        return b"".join(p.read_bytes() for p in files if p.exists())
    with api.store.engine.connect() as conn:
        tables = conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        out = []
        for table in tables:
            rows = conn.execute(text(f'SELECT t::text FROM "{table}" t')).scalars()
            out.extend(rows)
    return "\n".join(out).encode("utf-8")


def test_personal_data_never_reaches_the_database_or_the_logs(api: Api) -> None:
    body = household_with_people()
    recorded = api.post_decision(body)
    assert recorded.status_code == 201
    decision_id = recorded.json()["decision_id"]
    evaluated = api.client.post("/v1/evaluate", json=body, headers=api.headers("integrator"))
    assert evaluated.status_code == 200
    assert_absent(recorded.content + evaluated.content, "the responses")

    # Refused requests carrying the same data: the errors never repeat it.
    wrong_birth = copy.deepcopy(body)
    wrong_birth["household"]["members"][0]["birth_date"] = "1979-03-09"
    bad_digit = copy.deepcopy(body)
    bad_digit["household"]["members"][1]["id_number"] = OTHER_ID[:-1] + "9"
    unknown_place = copy.deepcopy(body)
    unknown_place["jurisdiction"] = "atlantis"
    for bad in (wrong_birth, bad_digit, unknown_place):
        refused = api.post_decision(bad)
        assert refused.status_code == 422
        assert_absent(refused.content, "an error body")

    record = api.client.get(f"/v1/decisions/{decision_id}", headers=api.headers("auditor"))
    assert record.status_code == 200
    assert_absent(record.content, "the stored decision served by the API")
    personal = record.json()["personal"]
    assert personal["m1"]["id_number_masked"] == "*" * 18  # no digit: see test_privacy_ids
    assert personal["m1"]["name_masked"] == "王*"
    assert personal["m2"]["id_number_masked"] == "*" * 18
    assert "m3" not in personal  # no personal data given for m3
    member = record.json()["request"]["household"]["members"][0]
    assert "name" not in member and "id_number" not in member

    # Keyed pseudonyms: HMAC-SHA256 with the server secret, not a plain hash of the value.
    expected = hmac.new(
        TEST_SECRET.encode(), f"id_number\x00{ID_NUMBER}".encode(), hashlib.sha256
    ).hexdigest()
    assert personal["m1"]["id_number_pseudonym"] == expected
    assert personal["m1"]["id_number_pseudonym"] != hashlib.sha256(ID_NUMBER.encode()).hexdigest()

    replay = api.client.post(f"/v1/decisions/{decision_id}/replay", headers=api.headers("auditor"))
    assert replay.json()["identical"] is True

    assert_absent(database_bytes(api), "the database")
    logs = api.logs.getvalue()
    assert "request_id" in logs and decision_id in logs
    assert_absent(logs.encode("utf-8"), "the logs")


def test_pseudonyms_are_stable_across_restarts_with_a_generated_secret(
    api_factory: Callable[..., Api], tmp_path: Path, sqlite_url: str
) -> None:
    url = sqlite_url
    data = tmp_path / "data"
    body = household_with_people()

    def pseudonym(api: Api) -> str:
        decision_id = api.post_decision(body).json()["decision_id"]
        record = api.client.get(f"/v1/decisions/{decision_id}", headers=api.headers("auditor"))
        return record.json()["personal"]["m1"]["id_number_pseudonym"]

    keys = tmp_path / "keys"
    first = pseudonym(api_factory(url, data_dir=data, keys_dir=keys, secret=None))
    secret_file = keys / "pseudonym.key"  # generated apart from the data folder
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert not (data / "secret.key").exists()
    second = pseudonym(api_factory(url, data_dir=data, keys_dir=keys, secret=None))
    assert first == second
    other = pseudonym(
        api_factory(url, data_dir=data, keys_dir=keys, secret="another-secret-0123456789abcdef01")
    )
    assert other != first

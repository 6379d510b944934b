"""The transparency log over HTTP and on the command line (issue 10, point 1), both backends.

An auditor fetches a signed checkpoint and keeps it; proofs are checked against it with the
library's RFC 9162 verifiers. An insider then attacks the database behind the service's back,
and both ``/v1/audit/verify`` and the offline ``eligibility audit check`` of an export must name
what was done.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from service.cli import main
from service.store import StoredDecision
from service.store.hashing import log_leaf_data
from service.tlog import merkle
from service.tlog.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from service.tlog.note import Signer
from tests.api.conftest import EXAMPLES, ROOT, Api
from tests.store.test_transparency import rewrite_as_insider

RECORDS = 7


def b64(text_value: str) -> bytes:
    return base64.b64decode(text_value)


def record(api: Api, count: int = RECORDS) -> list[StoredDecision]:
    out = []
    for i in range(count):
        response = api.post_decision(EXAMPLES[i % len(EXAMPLES)].read_bytes())
        assert response.status_code == 201, response.text
        stored = api.store.get(response.json()["decision_id"])
        assert stored is not None
        out.append(stored)
    return out


def checkpoint_of(api: Api) -> tuple[str, Checkpoint]:
    response = api.client.get("/v1/audit/checkpoint", headers=api.headers("auditor"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    key = api.app.state.runtime.log_key
    return response.text, open_checkpoint(response.text, key.verifier, origin=key.origin)


def verify(api: Api) -> dict[str, object]:
    response = api.client.get("/v1/audit/verify", headers=api.headers("auditor"))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def export_and_check(
    api: Api, tmp_path: Path, kept: str | None, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, object]]:
    """``eligibility audit export``, then ``audit check`` of the file with the public key only."""
    url = api.settings.database_url
    out = tmp_path / "log.jsonl"
    assert main(["audit", "export", "--out", str(out), "--db", url]) == 0
    public = tmp_path / "log.pub"
    public.write_text(api.app.state.runtime.log_key.verifier_text() + "\n")
    argv = ["audit", "check", str(out), "--key", str(public), "--json"]
    if kept is not None:
        kept_file = tmp_path / "kept.checkpoint"
        kept_file.write_text(kept)
        argv += ["--checkpoint", str(kept_file)]
    capsys.readouterr()
    code = main(argv)
    return code, json.loads(capsys.readouterr().out)


def test_checkpoint_covers_every_answered_decision(api: Api) -> None:
    empty = api.client.get("/v1/audit/checkpoint", headers=api.headers("auditor"))
    assert empty.status_code == 404 and empty.json()["errors"][0]["reason_zh"]
    for count in (1, 2, 3):
        record(api, 1)
        _, checkpoint = checkpoint_of(api)
        assert checkpoint.size == count  # no answered decision is outside the latest checkpoint
    as_json = api.client.get(
        "/v1/audit/checkpoint", headers={**api.headers("auditor"), "Accept": "application/json"}
    )
    body = as_json.json()
    assert body["tree_size"] == 3 and body["origin"] == api.app.state.runtime.log_key.origin
    assert b64(body["root_hash"]) == checkpoint.root
    for role in ("intake", "integrator", "admin"):
        refused = api.client.get("/v1/audit/checkpoint", headers=api.headers(role))
        assert refused.status_code == 403


def test_inclusion_proofs_verify_against_the_signed_root(api: Api) -> None:
    decisions = record(api)
    _, checkpoint = checkpoint_of(api)
    for decision in decisions:
        response = api.client.get(
            "/v1/audit/proof/inclusion",
            params={"decision_id": decision.id},
            headers=api.headers("auditor"),
        )
        assert response.status_code == 200, response.text
        proof = response.json()
        leaf = merkle.leaf_hash(log_leaf_data(decision.record_hash))
        assert b64(proof["leaf_hash"]) == leaf
        hashes = [b64(h) for h in proof["hashes"]]
        assert merkle.verify_inclusion(
            leaf, decision.seq - 1, checkpoint.size, hashes, checkpoint.root
        )
    # A decision's own GET carries the same proof, and the checkpoint it leads to.
    first = decisions[0]
    response = api.client.get(
        f"/v1/decisions/{first.id}", params={"proof": "true"}, headers=api.headers("auditor")
    )
    proof = response.json()["proof"]
    opened = open_checkpoint(proof["checkpoint"], api.app.state.runtime.log_key.verifier)
    leaf = merkle.leaf_hash(log_leaf_data(first.record_hash))
    assert merkle.verify_inclusion(
        leaf, 0, opened.size, [b64(h) for h in proof["hashes"]], opened.root
    )
    # The intake key that recorded it may ask too.
    mine = api.client.get(
        f"/v1/decisions/{first.id}?proof=true", headers=api.headers("intake")
    ).json()
    assert mine["proof"]["tree_size"] == RECORDS


@pytest.mark.parametrize(
    ("params", "path", "status"),
    [
        ({"decision_id": "not-an-id"}, "query.decision_id", 422),
        ({}, "query.decision_id", 422),
        ({"decision_id": "0" * 32}, "query.decision_id", 404),
        ({"decision_id": None, "tree_size": "0"}, "query.tree_size", 422),
        ({"decision_id": None, "tree_size": str(RECORDS + 1)}, "query.tree_size", 422),
        ({"decision_id": None, "tree_size": "abc"}, "query.tree_size", 422),
        ({"decision_id": None, "tree_size": str(2**70)}, "query.tree_size", 422),
    ],
)
def test_bad_inclusion_parameters_are_named(
    api: Api, params: dict[str, str | None], path: str, status: int
) -> None:
    decisions = record(api)
    params = dict(params)  # the parameter sets are shared by both backends' runs
    if params.get("decision_id", "") is None:
        params["decision_id"] = decisions[-1].id
    response = api.client.get(
        "/v1/audit/proof/inclusion", params=params, headers=api.headers("auditor")
    )
    assert response.status_code == status, response.text
    problem = response.json()["errors"][0]
    assert problem["path"] == path
    assert problem["reason_zh"] and problem["reason_en"]


def test_consistency_between_a_kept_checkpoint_and_todays(api: Api) -> None:
    record(api, 3)
    _kept_note, kept = checkpoint_of(api)
    record(api, 5)
    _, today = checkpoint_of(api)
    response = api.client.get(
        "/v1/audit/proof/consistency", params={"first": kept.size}, headers=api.headers("auditor")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["second"] == today.size == 8
    hashes = [b64(h) for h in body["hashes"]]
    assert merkle.verify_consistency(kept.size, today.size, kept.root, today.root, hashes)
    for params, path in (
        ({"first": "9"}, "query.first"),
        ({"first": "0"}, "query.first"),
        ({"first": "2", "second": "99"}, "query.second"),
        ({"first": "5", "second": "4"}, "query.first"),
        ({}, "query.first"),
    ):
        refused = api.client.get(
            "/v1/audit/proof/consistency", params=params, headers=api.headers("auditor")
        )
        assert refused.status_code == 422, (params, refused.text)
        problem = refused.json()["errors"][0]
        assert problem["path"] == path and problem["reason_zh"] and problem["reason_en"]


def test_intact_log_passes_verify_and_the_offline_check(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record(api, 3)
    kept, _ = checkpoint_of(api)
    record(api, 4)
    result = verify(api)
    assert result["ok"] is True and result["checkpoint_size"] == RECORDS
    code, report = export_and_check(api, tmp_path, kept, capsys)
    assert code == 0, report
    assert report["ok"] is True and report["records"] == RECORDS


def test_rewritten_record_five_is_named_online_and_offline(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    decisions = record(api)
    kept, _ = checkpoint_of(api)
    rewrite_as_insider(api.store, decisions, 5, rebuild_tree=True)
    result = verify(api)
    assert result["ok"] is False
    assert result["first_broken"] == {
        "seq": 5,
        "decision_id": decisions[4].id,
        "reason": result["first_broken"]["reason"],  # type: ignore[index]
    }
    code, report = export_and_check(api, tmp_path, kept, capsys)
    assert code == 1
    assert report["first_bad"]["seq"] == 5  # type: ignore[index]
    assert report["first_bad"]["decision_id"] == decisions[4].id  # type: ignore[index]


def test_append_to_a_rewritten_log_is_refused_as_log_damage(api: Api) -> None:
    # The insider made every stored hash consistent again: the service must not sign over the
    # rewritten tree. The clerk's system is told why (not "retry later"), and nothing is stored.
    decisions = record(api)
    rewrite_as_insider(api.store, decisions, 5, rebuild_tree=True)
    response = api.post_decision(EXAMPLES[0].read_bytes())
    assert response.status_code == 503
    assert "Retry-After" not in response.headers
    [problem] = response.json()["errors"]
    assert problem["type"] == "log_damaged"
    assert "eligibility audit verify" in problem["reason_en"]
    assert "决策日志" in problem["reason_zh"]
    assert api.store.head().seq == RECORDS
    assert "decision log damaged" in api.logs.getvalue()


def test_restart_after_a_rewrite_and_removed_checkpoints_signs_nothing(
    api_factory: Callable[..., Api], db_url: str
) -> None:
    # The insider rewrites record 5, removes every checkpoint that signed it, and restarts the
    # service: the restarted service does not sign the uncovered records (at start or on the
    # next append), stays up for auditors, and verify names record 5.
    first = api_factory(db_url)
    decisions = record(first)
    rewrite_as_insider(first.store, decisions, 5, rebuild_tree=True)
    with first.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM log_checkpoints WHERE size > 4"))
    again = api_factory(db_url, keys=False)
    again.keys, again.key_ids = first.keys, first.key_ids
    assert "decision log damaged" in again.logs.getvalue()
    response = again.post_decision(EXAMPLES[0].read_bytes())
    assert response.status_code == 503
    assert response.json()["errors"][0]["type"] == "log_damaged"
    latest = again.store.latest_checkpoint()
    assert latest is not None and latest.size == 4
    result = verify(again)
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == 5  # type: ignore[index]


def test_deleted_last_record_is_detected(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    decisions = record(api)
    kept, _ = checkpoint_of(api)
    with api.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM decisions WHERE seq = :s"), {"s": RECORDS})
        conn.execute(
            text("UPDATE chain_head SET seq = :s, record_hash = :h WHERE id = 1"),
            {"s": RECORDS - 1, "h": decisions[-2].record_hash},
        )
    result = verify(api)
    assert result["ok"] is False
    assert result["first_broken"]["seq"] == RECORDS  # type: ignore[index]
    # Even with the newest checkpoint gone too, the auditor's kept one shows the truncation.
    with api.store.engine.begin() as conn:
        conn.execute(text("DELETE FROM log_checkpoints WHERE size = :s"), {"s": RECORDS})
    code, report = export_and_check(api, tmp_path, kept, capsys)
    assert code == 1
    assert report["ok"] is False


def test_changed_program_status_is_named(api: Api) -> None:
    decisions = record(api)
    target = decisions[2]
    program, status = next(iter(target.programs_summary.items()))
    other = "ineligible" if status != "ineligible" else "eligible"
    with api.store.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE decision_programs SET status = :o WHERE decision_seq = :s AND program = :p"
            ),
            {"o": other, "s": target.seq, "p": program},
        )
    broken = verify(api)["first_broken"]
    assert broken["seq"] == target.seq  # type: ignore[index]
    assert broken["decision_id"] == target.id  # type: ignore[index]
    assert program in broken["reason"]  # type: ignore[index]


def test_checkpoint_forged_with_another_key_is_refused(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    decisions = record(api)
    origin = api.app.state.runtime.log_key.origin
    rewrite_as_insider(api.store, decisions, 2, rebuild_tree=True)
    root = api.store.tree_root(RECORDS)
    forged = sign_checkpoint(Checkpoint(origin, RECORDS, root), Signer.generate(origin))
    with api.store.engine.begin() as conn:
        conn.execute(
            text("UPDATE log_checkpoints SET root = :r, note = :n WHERE size = :s"),
            {"r": root, "n": forged, "s": RECORDS},
        )
    result = verify(api)
    assert result["ok"] is False
    # The genuine checkpoints before the forged one name the rewritten record.
    assert result["first_broken"]["seq"] == 2  # type: ignore[index]
    with api.store.engine.begin() as conn:  # the insider removes them too
        conn.execute(text("DELETE FROM log_checkpoints WHERE size < :s"), {"s": RECORDS})
    result = verify(api)
    assert "not signed by the log's key" in result["first_broken"]["reason"]  # type: ignore[index]
    code, report = export_and_check(api, tmp_path, None, capsys)
    assert code == 1
    assert "forged_checkpoint" in {f["kind"] for f in report["findings"]}  # type: ignore[union-attr]


def test_keygen_and_public_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "keys" / "signing.key"
    assert main(["audit", "keygen", "--key", str(key_file), "--name", "city.example/log"]) == 0
    public = capsys.readouterr().out.strip()
    assert public.startswith("city.example/log+")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert "PRIVATE" not in public
    assert main(["audit", "public-key", "--key", str(key_file)]) == 0
    assert capsys.readouterr().out.strip() == public
    # Never replaced: the checkpoints it signed would no longer verify.
    before = key_file.read_text()
    assert main(["audit", "keygen", "--key", str(key_file)]) == 2
    assert "never replaced" in capsys.readouterr().err
    assert key_file.read_text() == before


def test_production_serve_refuses_a_key_in_the_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("ELIGIBILITY_DATA_DIR", str(data))
    monkeypatch.setenv("ELIGIBILITY_DB_URL", "")
    monkeypatch.setenv("ELIGIBILITY_RULES_DIR", str(ROOT / "rules"))
    monkeypatch.setenv("ELIGIBILITY_PRODUCTION", "1")
    monkeypatch.setenv("ELIGIBILITY_SIGNING_KEY_FILE", str(data / "signing.key"))
    assert main(["audit", "keygen"]) == 0
    capsys.readouterr()
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "data folder" in err and "数据目录" in err
    # Production and no key at all: refused too, and none is made.
    monkeypatch.setenv("ELIGIBILITY_SIGNING_KEY_FILE", str(tmp_path / "elsewhere" / "signing.key"))
    assert main(["serve", "--port", "1"]) == 2
    assert "audit keygen" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere" / "signing.key").exists()
    assert os.environ["ELIGIBILITY_PRODUCTION"] == "1"


def test_content_changed_under_its_old_hash_is_named_offline(
    api: Api, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The plain edit, no hash recomputed: the export carries the record's fields, and the
    # offline check recomputes its hash (the store's recipe) against its signed leaf.
    decisions = record(api)
    kept, _ = checkpoint_of(api)
    with api.store.engine.begin() as conn:
        conn.execute(text("UPDATE decisions SET actor = 'mallory' WHERE seq = 4"))
    code, report = export_and_check(api, tmp_path, kept, capsys)
    assert code == 1
    assert report["first_bad"]["seq"] == 4  # type: ignore[index]
    assert report["first_bad"]["decision_id"] == decisions[3].id  # type: ignore[index]
    assert report["first_bad"]["kind"] == "content"  # type: ignore[index]
    assert verify(api)["first_broken"]["seq"] == 4  # type: ignore[index]

"""Each record is decided under its own jurisdiction and date; ``--jurisdiction`` and ``--as-of``
are defaults for records without them, and replace a record's own only when forced (counted)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.caseload import layout
from service.contract.request import EvaluationRequest
from service.engine import evaluate
from tests.caseload.test_pipeline import cli

OWN = date(2025, 6, 1)  # the date the generated records carry


def _write(requests: list[dict], folder: Path, kind: str) -> Path:
    """The same records as JSONL, Parquet or CSV (the flat layout)."""
    path = folder / f"caseload.{kind}"
    if kind == "jsonl":
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests), encoding="utf-8"
        )
        return path
    rows = [layout.request_to_row({k: v for k, v in r.items() if k != "id"}, r["id"])
            for r in requests]  # fmt: skip
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows, schema=layout.arrow_schema()), path)
    else:
        import csv

        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(layout.COLUMNS))
            writer.writeheader()
            writer.writerows(layout.row_to_csv(row) for row in rows)
    return path


@pytest.fixture(scope="module")
def wuhan(tmp_path_factory) -> list[dict]:
    path = tmp_path_factory.mktemp("records") / "wuhan.jsonl"
    assert cli(
        "caseload", "generate", "--jurisdiction", "wuhan", "--households", "150", "--seed", "4",
        "--as-of", OWN, "--out", path, "--workers", "1",
    ) == 0  # fmt: skip
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _evaluate(source: Path, out: Path, capsys, *extra: str) -> tuple[int, dict, list[dict]]:
    code = cli(
        "caseload", "evaluate", source, "--out", out, "--workers", "1", "--no-progress",
        "--json", *extra,
    )  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    return code, summary, pq.read_table(out).to_pylist()


def _agrees_with_engine(rows: list[dict], requests: list[dict], bundle, on: date) -> None:
    for row, request in zip(rows, requests, strict=True):
        request = {k: v for k, v in request.items() if k != "id"}
        request.update(jurisdiction=bundle.jurisdiction, as_of=on.isoformat())
        response = evaluate(EvaluationRequest.model_validate(request), bundle)
        for program, result in response["programs"].items():
            assert row[f"{program}_status"] == result["status"], (row["id"], program)
        amount = response["programs"]["dibao"].get("monthly_amount")
        assert (None if row["dibao_amount"] is None else str(row["dibao_amount"])) == amount


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "csv"])
def test_a_wuhan_record_stays_under_wuhan_rules_unless_forced(
    kind, wuhan, tmp_path, capsys, rule_base
):
    source = _write(wuhan, tmp_path, kind)
    own = rule_base.resolve("wuhan", OWN)
    code, summary, rows = _evaluate(
        source, tmp_path / "kept.parquet", capsys, "--jurisdiction", "changsha"
    )
    assert code == 0 and summary["refused"] == 0
    assert {(r["jurisdiction"], r["as_of"], r["bundle_sha256"]) for r in rows} == {
        ("wuhan", OWN, own.sha256)
    }
    assert summary["bundles"] == [
        {"jurisdiction": "wuhan", "version": own.version.isoformat(), "sha256": own.sha256,
         "households": 150}
    ]  # fmt: skip
    assert summary["overridden"] == {"records": 0, "jurisdiction": 0, "as_of": 0}
    assert summary["kept_own"] == {"jurisdiction": 150, "as_of": 0}
    _agrees_with_engine(rows, wuhan, own, OWN)

    code, summary, rows = _evaluate(
        source, tmp_path / "forced.parquet", capsys,
        "--jurisdiction", "changsha", "--force-jurisdiction",
    )  # fmt: skip
    forced = rule_base.resolve("changsha", OWN)
    assert code == 0
    assert {(r["jurisdiction"], r["bundle_sha256"]) for r in rows} == {("changsha", forced.sha256)}
    assert summary["overridden"] == {"records": 150, "jurisdiction": 150, "as_of": 0}
    _agrees_with_engine(rows, wuhan, forced, OWN)


def test_the_record_date_wins_over_as_of_unless_forced(wuhan, tmp_path, capsys, rule_base):
    older = [dict(r, as_of="2022-06-01") for r in wuhan[:40]]
    source = _write(older, tmp_path, "parquet")
    code, summary, rows = _evaluate(
        source, tmp_path / "own.parquet", capsys, "--as-of", "2025-07-01"
    )
    assert code == 0
    assert {(r["as_of"], r["bundle_version"]) for r in rows} == {
        (date(2022, 6, 1), date(2022, 4, 1))
    }
    assert summary["kept_own"]["as_of"] == 40
    _agrees_with_engine(rows, older, rule_base.resolve("wuhan", date(2022, 6, 1)), date(2022, 6, 1))
    code, summary, rows = _evaluate(
        source, tmp_path / "forced.parquet", capsys, "--as-of", "2025-07-01", "--force-as-of"
    )
    assert {(r["as_of"], r["bundle_version"]) for r in rows} == {
        (date(2025, 7, 1), date(2025, 1, 1))
    }
    assert summary["overridden"] == {"records": 40, "jurisdiction": 0, "as_of": 40}


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "csv"])
def test_records_without_values_take_the_defaults_or_are_refused(
    kind, wuhan, tmp_path, capsys, rule_base
):
    records = [dict(r) for r in wuhan[:6]]
    del records[1]["jurisdiction"]
    del records[2]["as_of"]
    del records[3]["jurisdiction"], records[3]["as_of"]
    source = _write(records, tmp_path, kind)
    code, summary, rows = _evaluate(source, tmp_path / "none.parquet", capsys)
    assert code == 1
    errors = [
        json.loads(x)
        for x in (tmp_path / "none.parquet.errors.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    first = 2 if kind == "csv" else 1  # CSV counts the header line
    assert [(e["line"] - first, [p["path"] for p in e["errors"]]) for e in errors] == [
        (1, ["jurisdiction"]),
        (2, ["as_of"]),
        (3, ["jurisdiction", "as_of"]),
    ]
    assert {p["type"] for e in errors for p in e["errors"]} == {"missing"}
    assert all(p["reason_zh"] and p["reason_en"] for e in errors for p in e["errors"])
    assert [r["id"] for r in rows] == [records[i]["id"] for i in (0, 4, 5)]

    code, summary, rows = _evaluate(
        source, tmp_path / "filled.parquet", capsys,
        "--jurisdiction", "zhumadian", "--as-of", "2024-03-01",
    )  # fmt: skip
    assert code == 0 and summary["refused"] == 0
    decided = [(r["jurisdiction"], r["as_of"]) for r in rows]
    assert decided == [
        ("wuhan", OWN),
        ("zhumadian", OWN),
        ("wuhan", date(2024, 3, 1)),
        ("zhumadian", date(2024, 3, 1)),
        ("wuhan", OWN),
        ("wuhan", OWN),
    ]
    assert summary["defaulted"] == {"jurisdiction": 2, "as_of": 2}
    assert summary["overridden"]["records"] == 0
    for row, (j, on) in zip(rows, decided, strict=True):
        assert row["bundle_sha256"] == rule_base.resolve(j, on).sha256


def test_a_mixed_caseload_is_decided_per_record(wuhan, tmp_path, capsys, rule_base):
    records = [dict(r) for r in wuhan[:30]]
    for r in records[::3]:
        r["jurisdiction"] = "chongqing/banan"
    for r in records[1::3]:
        r["as_of"] = "2023-06-01"
    records[5]["jurisdiction"] = "atlantis"
    records[7]["as_of"] = "2001-01-01"
    source = _write(records, tmp_path, "jsonl")
    code, summary, rows = _evaluate(source, tmp_path / "mixed.parquet", capsys)
    assert code == 1 and summary["refused"] == 2
    errors = [
        json.loads(x)
        for x in (tmp_path / "mixed.parquet.errors.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(e["line"], e["errors"][0]["type"]) for e in errors] == [
        (6, "unknown_jurisdiction"),
        (8, "before_first_version"),
    ]
    kept = [r for i, r in enumerate(records) if i not in (5, 7)]
    assert len(rows) == 28
    for row, request in zip(rows, kept, strict=True):
        on = date.fromisoformat(request["as_of"])
        bundle = rule_base.resolve(request["jurisdiction"], on)
        assert (row["jurisdiction"], row["as_of"]) == (request["jurisdiction"], on)
        assert row["bundle_sha256"] == bundle.sha256
        _agrees_with_engine([row], [request], bundle, on)
    assert sum(b["households"] for b in summary["bundles"]) == 28
    assert {b["jurisdiction"] for b in summary["bundles"]} == {"wuhan", "chongqing/banan"}


def test_whatif_keeps_the_records_jurisdiction_unless_forced(wuhan, tmp_path, capsys, rule_base):
    source = _write(wuhan, tmp_path, "parquet")
    common = ("caseload", "whatif", source, "--jurisdiction", "changsha", "--workers", "1",
              "--no-progress")  # fmt: skip
    # Wuhan has urban and rural standards: the override suits the records' own rules
    urban = ("--set", "dibao.standard.urban=1000")
    assert cli(*common, *urban, "--out-dir", tmp_path / "kept") == 0
    report = json.loads((tmp_path / "kept" / "summary.json").read_text(encoding="utf-8"))
    assert report["baseline"]["sha256"] == rule_base.resolve("wuhan", OWN).sha256
    assert [b["jurisdiction"] for b in report["bundles"]] == ["wuhan"]
    assert report["programs"]["dibao"]["gained"] > 0
    assert report["overridden"]["records"] == 0
    capsys.readouterr()
    # forced under Changsha's rules (one unified standard) the same override cannot apply
    assert cli(*common, *urban, "--force-jurisdiction", "--out-dir", tmp_path / "bad") == 2
    err = capsys.readouterr().err
    assert "set:dibao.standard.urban" in err and "参数覆盖无效" in err
    assert cli(*common, "--force-jurisdiction", "--out-dir", tmp_path / "forced") == 0
    report = json.loads((tmp_path / "forced" / "summary.json").read_text(encoding="utf-8"))
    assert report["baseline"]["sha256"] == rule_base.resolve("changsha", OWN).sha256
    assert report["overridden"] == {"records": 150, "jurisdiction": 150, "as_of": 0}
    out = capsys.readouterr().out
    assert "记录自带的辖区或日期被覆盖：150 户" in out
    assert "records whose own jurisdiction or date was overridden: 150" in out


def test_forcing_needs_the_value(wuhan, tmp_path, capsys):
    source = _write(wuhan[:3], tmp_path, "jsonl")
    code = cli("caseload", "evaluate", source, "--out", tmp_path / "r.parquet",
               "--force-jurisdiction")  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "--force-jurisdiction 需要同时给出 --jurisdiction" in err
    assert "--force-jurisdiction needs --jurisdiction" in err

"""``eligibility caseload generate | evaluate | whatif`` end to end, against the engine."""

from __future__ import annotations

import argparse
import io
import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from service.caseload import layout
from service.caseload.commands import register
from service.caseload.run import Progress, read_results, run
from service.caseload.scenarios import RecordDefaults, Scenarios
from service.contract.request import EvaluationRequest
from service.engine import evaluate
from service.engine.bundle import DEFAULT_RULES_DIR

AS_OF = date(2025, 7, 1)


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES_DIR)
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


@pytest.fixture(scope="module")
def caseload(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("caseload")
    files = {}
    for kind in ("jsonl", "parquet", "csv"):
        files[kind] = folder / f"wuhan.{kind}"
        code = cli(
            "caseload", "generate", "--jurisdiction", "wuhan", "--households", "1200",
            "--seed", "3", "--as-of", "2025-06-01", "--out", files[kind], "--workers", "1",
        )  # fmt: skip
        assert code == 0
    return files


def _requests(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_generated_files_hold_the_same_households(caseload):
    requests = _requests(caseload["jsonl"])
    assert len(requests) == 1200
    assert requests[0]["id"] == "H0000001"
    rows = pq.read_table(caseload["parquet"]).to_pylist()
    assert [r["id"] for r in rows] == [r["id"] for r in requests]
    for row, request in zip(rows, requests, strict=True):
        back = layout.row_to_request(row)
        request = {k: v for k, v in request.items() if k != "id"}
        assert EvaluationRequest.model_validate(back) == EvaluationRequest.model_validate(request)


def test_generation_is_deterministic_whatever_the_workers(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    common = (
        "caseload",
        "generate",
        "--jurisdiction",
        "changsha",
        "--households",
        "12000",
        "--seed",
        "9",
    )
    assert cli(*common, "--out", a, "--workers", "1") == 0
    assert cli(*common, "--out", b, "--workers", "2") == 0
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_bytes().splitlines()) == 12000


def test_summary_equals_the_sum_of_engine_decisions(caseload, tmp_path, capsys, rule_base):
    # no --jurisdiction or --as-of: every record is decided on its own (wuhan, 2025-06-01)
    out = tmp_path / "results.parquet"
    code = cli(
        "caseload", "evaluate", caseload["jsonl"], "--out", out, "--workers", "2",
        "--chunk-size", "250", "--json", "--no-progress",
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["households"] == 1200 and summary["refused"] == 0
    rows = pq.read_table(out).to_pylist()
    assert [r["line"] for r in rows] == list(range(1, 1201))
    bundle = rule_base.resolve("wuhan", date(2025, 6, 1))
    assert summary["bundles"] == [
        {
            "jurisdiction": "wuhan",
            "version": bundle.version.isoformat(),
            "sha256": bundle.sha256,
            "households": 1200,
        }
    ]
    assert summary["overridden"] == {"records": 0, "jurisdiction": 0, "as_of": 0}
    counts: Counter = Counter()
    cost = {"tekun": Decimal(0), "dibao": Decimal(0), "temporary": Decimal(0)}
    for row, request in zip(rows, _requests(caseload["jsonl"]), strict=True):
        request.pop("id")
        assert (row["jurisdiction"], row["as_of"]) == ("wuhan", date(2025, 6, 1))
        assert row["bundle_sha256"] == bundle.sha256
        response = evaluate(EvaluationRequest.model_validate(request), bundle)
        for program, result in response["programs"].items():
            counts[(program, result["status"])] += 1
            assert row[f"{program}_status"] == result["status"]
        tekun = [
            m for m in response["programs"]["tekun"].get("members", []) if m["status"] == "eligible"
        ]
        cost["tekun"] += sum((Decimal(m["monthly_amount"]) for m in tekun), Decimal(0))
        cost["dibao"] += Decimal(response["programs"]["dibao"].get("monthly_amount") or 0)
        cost["temporary"] += Decimal(response["programs"]["temporary"].get("amount") or 0)
        assert row["dibao_basis"] == response["programs"]["dibao"].get("basis")
        assert str(row["dibao_amount"]) == str(response["programs"]["dibao"].get("monthly_amount"))
    for (program, status), count in counts.items():
        assert summary["programs"][program]["status"][status] == count
    assert Decimal(summary["programs"]["tekun"]["monthly_cost"]) == cost["tekun"]
    assert Decimal(summary["programs"]["dibao"]["monthly_cost"]) == cost["dibao"]
    assert Decimal(summary["programs"]["temporary"]["one_off_cost"]) == cost["temporary"]
    assert Decimal(summary["monthly_cost"]) == cost["tekun"] + cost["dibao"]
    # a realistic caseload: every program has eligible households, and every status shows up
    for program in ("tekun", "dibao", "marginal", "rigid_expenditure", "temporary"):
        assert summary["programs"][program]["status"]["eligible"] > 0
    assert all(v > 0 for v in summary["programs"]["dibao"]["status"].values())


def test_the_three_input_formats_give_the_same_results(caseload, tmp_path):
    tables = []
    for kind, path in caseload.items():
        out = tmp_path / f"{kind}.parquet"
        assert cli(
            "caseload", "evaluate", path, "--jurisdiction", "wuhan", "--as-of", AS_OF,
            "--out", out, "--workers", "1", "--no-progress",
        ) == 0  # fmt: skip
        table = pq.read_table(out).drop_columns(["line"])
        tables.append(table)
    # CSV rows are numbered by their line (after the header)
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])


def test_results_round_trip_through_parquet_jsonl_and_csv(caseload, tmp_path):
    a, b, c = tmp_path / "r.parquet", tmp_path / "r.jsonl", tmp_path / "r.csv"
    for out in (a, b, c):
        assert cli(
            "caseload", "evaluate", caseload["parquet"], "--jurisdiction", "wuhan",
            "--as-of", AS_OF, "--out", out, "--workers", "1", "--no-progress",
        ) == 0  # fmt: skip
    first, second, third = read_results(a), read_results(b), read_results(c)
    assert first.num_rows == 1200
    assert first.to_pylist() == second.to_pylist() == third.to_pylist()
    line = json.loads(b.read_text(encoding="utf-8").splitlines()[0])
    assert set(line) == set(layout.RESULT_COLUMNS)


BAD_LINES = {
    2: "{not json",
    5: '{"jurisdiction": "wuhan", "household": {"members": [{"id": "a", "relation": "applicant", "birth_date": "1950-01-01"}]}, "colour": "red"}',
    7: '{"jurisdiction": "wuhan", "household": {"members": [{"id": "a", "relation": "applicant", "birth_date": "1950-01-01"}], "income": [{"member": "a", "type": "wage", "monthly": "-5"}]}}',
    9: '{"jurisdiction": "wuhan", "household": {"members": [{"id": "a", "relation": "applicant", "birth_date": "1950-01-01"}], "income": [{"member": "zz", "type": "wage", "monthly": "5"}]}}',
}


def test_bad_rows_are_reported_with_their_line_numbers(caseload, tmp_path, capsys):
    good = caseload["jsonl"].read_text(encoding="utf-8").splitlines()[:8]
    lines, taken = [], iter(good)
    for number in range(1, 12):
        if number in BAD_LINES:
            lines.append(BAD_LINES[number])
        elif number == 4:
            lines.append("")  # blank lines are skipped but still counted
        else:
            lines.append(next(taken))
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "mixed.parquet"
    code = cli(
        "caseload", "evaluate", source, "--jurisdiction", "wuhan", "--as-of", AS_OF,
        "--out", out, "--workers", "1", "--chunk-size", "3", "--no-progress",
    )  # fmt: skip
    assert code == 1
    errors = [
        json.loads(x) for x in (tmp_path / "mixed.parquet.errors.jsonl").read_text().splitlines()
    ]
    assert [e["line"] for e in errors] == [2, 5, 7, 9]
    assert errors[0]["errors"][0]["type"] == "json_invalid"
    assert errors[1]["errors"][0]["path"] == "colour"
    assert errors[2]["errors"][0]["path"] == "household.income[0].monthly"
    assert errors[3]["errors"][0]["path"] == "household.income[0].member"
    results = pq.read_table(out).to_pylist()
    assert [r["line"] for r in results] == [1, 3, 6, 8, 10, 11]
    assert [r["id"] for r in results] == [f"H000000{i}" for i in range(1, 7)]
    out = capsys.readouterr().out
    assert "已评估 6 户，拒绝 4 户" in out and "6 households evaluated, 4 refused" in out


def test_bad_parquet_and_csv_rows_are_reported(caseload, tmp_path):
    table = pq.read_table(caseload["parquet"]).slice(0, 8)
    rows = table.to_pylist()
    rows[2]["members"][0]["relation"] = "cousin"  # row 3: not a relation
    rows[5]["members"].append(dict(rows[5]["members"][0]))  # row 6: duplicate member id
    rows[6]["assets_financial"] = Decimal("-1.00")  # row 7: negative money
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=layout.arrow_schema()), bad)
    out = tmp_path / "bad-results.jsonl"
    code = cli(
        "caseload", "evaluate", bad, "--jurisdiction", "wuhan", "--as-of", AS_OF,
        "--out", out, "--workers", "1", "--no-progress",
    )  # fmt: skip
    assert code == 1
    errors = [
        json.loads(x)
        for x in (tmp_path / "bad-results.jsonl.errors.jsonl").read_text().splitlines()
    ]
    assert [(e["line"], e["errors"][0]["path"]) for e in errors] == [
        (3, "household.members[0].relation"),
        (6, f"household.members[{len(rows[5]['members']) - 1}].id"),
        (7, "household.assets.financial"),
    ]
    assert [json.loads(x)["line"] for x in out.read_text().splitlines()] == [1, 2, 4, 5, 8]

    lines = caseload["csv"].read_text(encoding="utf-8").splitlines()[:6]
    lines[3] = lines[3].replace('"[{""id""', '"[{""id"" oops', 1)  # line 4: members not JSON
    broken = tmp_path / "bad.csv"
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "csv-results.parquet"
    assert cli(
        "caseload", "evaluate", broken, "--jurisdiction", "wuhan", "--as-of", AS_OF,
        "--out", out, "--workers", "1", "--no-progress",
    ) == 1  # fmt: skip
    errors = [
        json.loads(x)
        for x in (tmp_path / "csv-results.parquet.errors.jsonl").read_text().splitlines()
    ]
    assert [(e["line"], e["errors"][0]["path"]) for e in errors] == [(4, "members")]
    assert pq.read_table(out).column("line").to_pylist() == [2, 3, 5, 6]


def test_unknown_column_refuses_the_file(caseload, tmp_path, capsys):
    table = pq.read_table(caseload["parquet"]).slice(0, 3)
    odd = tmp_path / "odd.parquet"
    pq.write_table(table.append_column("name", pa.array(["a", "b", "c"])), odd)
    code = cli(
        "caseload", "evaluate", odd, "--jurisdiction", "wuhan", "--as-of", AS_OF,
        "--out", tmp_path / "x.parquet", "--workers", "1",
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "未知的列：name" in err and "unknown column(s): name" in err


def test_an_interrupted_run_resumes_without_duplicating_rows(caseload, tmp_path, rule_base):
    scenarios = Scenarios(rule_base, RecordDefaults("wuhan", AS_OF))
    parts = tmp_path / "out.parts"
    with pytest.raises(KeyboardInterrupt):
        run(caseload["parquet"], scenarios, parts, workers=1, chunk_size=100, stop_after=3)
    assert len(list(parts.glob("part-*.done"))) == 3
    resumed = run(caseload["parquet"], scenarios, parts, workers=2, chunk_size=100)
    assert resumed.resumed_chunks == 3
    clean = run(caseload["parquet"], scenarios, tmp_path / "clean.parts", workers=1, chunk_size=100)
    assert clean.resumed_chunks == 0
    assert resumed.tables[0].equals(clean.tables[0])
    lines = resumed.tables[0].column("line").to_pylist()
    assert lines == list(range(1, 1201))
    # changed arguments (another date, forced on every record) start afresh instead of mixing
    forced = Scenarios(rule_base, RecordDefaults("wuhan", date(2024, 1, 1), force_as_of=True))
    other = run(caseload["parquet"], forced, parts, workers=1, chunk_size=100)
    assert other.resumed_chunks == 0
    assert set(other.tables[0].column("as_of").to_pylist()) == {date(2024, 1, 1)}


def test_progress_bar_shows_rate_and_time_left():
    stream = io.StringIO()
    bar = Progress(1000, stream)
    bar.advance(250, force=True)
    text = stream.getvalue()
    assert "250/1,000" in text and "/s" in text and "25%" in text
    assert "剩余 left" in text and "已用 elapsed" in text
    bar.close()
    assert stream.getvalue().endswith("\n")

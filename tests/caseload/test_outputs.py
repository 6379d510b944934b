"""What an analyst gets back: CSV Excel reads with Chinese text, tables that line up in a
terminal, and no caseload poured onto a terminal by mistake."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from service.caseload.run import read_results
from tests.caseload.test_pipeline import cli
from tests.helpers import ROOT

BOM = b"\xef\xbb\xbf"
PROGRAM_ROW = r"(特困|低保|低保边缘|刚性支出|临时救助) [a-z_]+ "


@pytest.fixture(scope="module")
def chinese_ids(tmp_path_factory) -> Path:
    """A small Wuhan caseload whose household ids are Chinese, as a civil-affairs office keeps."""
    folder = tmp_path_factory.mktemp("outputs")
    plain = folder / "plain.jsonl"
    assert cli(
        "caseload", "generate", "--jurisdiction", "wuhan", "--households", "120", "--seed", "8",
        "--out", plain, "--workers", "1",
    ) == 0  # fmt: skip
    path = folder / "chinese.jsonl"
    lines = []
    for number, line in enumerate(plain.read_text(encoding="utf-8").splitlines(), start=1):
        request = json.loads(line)
        request["id"] = f"江岸区-{number:04d}号"
        lines.append(json.dumps(request, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_csv_results_start_with_a_bom_and_round_trip_chinese_text(chinese_ids, tmp_path):
    out = tmp_path / "results.csv"
    assert cli("caseload", "evaluate", chinese_ids, "--jurisdiction", "wuhan", "--as-of",
               "2025-07-01", "--out", out, "--workers", "1", "--no-progress") == 0  # fmt: skip
    data = out.read_bytes()
    assert data.startswith(BOM)  # Excel reads the file as UTF-8 only with it
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["id"] for r in records] == [f"江岸区-{n:04d}号" for n in range(1, 121)]
    assert records[0]["jurisdiction"] == "wuhan" and records[0]["as_of"] == "2025-07-01"
    parquet = tmp_path / "results.parquet"
    assert cli("caseload", "evaluate", chinese_ids, "--out", parquet, "--workers", "1",
               "--no-progress") == 0  # fmt: skip
    assert read_results(out).to_pylist() == pq.read_table(parquet).to_pylist()


def test_whatif_diff_as_csv(chinese_ids, tmp_path):
    assert cli(
        "caseload", "whatif", chinese_ids, "--set", "dibao.standard.urban=1000", "--out-dir",
        tmp_path, "--diff-format", "csv", "--workers", "1", "--no-progress",
    ) == 0  # fmt: skip
    data = (tmp_path / "diff.csv").read_bytes()
    assert data.startswith(BOM)
    records = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert records and all(r["id"].startswith("江岸区-") for r in records)
    assert {r["standard_after"] for r in records} <= {"1000.00", "820.00", ""}


def test_generated_csv_is_for_excel_and_reads_back(tmp_path):
    path = tmp_path / "caseload.csv"
    assert cli("caseload", "generate", "--jurisdiction", "wuhan", "--households", "30",
               "--out", path, "--workers", "1") == 0  # fmt: skip
    assert path.read_bytes().startswith(BOM)
    out = tmp_path / "r.parquet"
    assert cli("caseload", "evaluate", path, "--out", out, "--workers", "1",
               "--no-progress") == 0  # fmt: skip
    assert pq.read_table(out).num_rows == 30


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _number_ends(line: str) -> list[int]:
    """Display column where each number of a table row ends (after the program name)."""
    return [_width(line[: m.end()]) for m in re.finditer(r"[0-9][0-9,]*(?:\.[0-9]+)?", line)]


def test_summary_columns_line_up_by_display_width(chinese_ids, tmp_path, capsys):
    assert cli("caseload", "evaluate", chinese_ids, "--jurisdiction", "wuhan", "--as-of",
               "2025-07-01", "--out", tmp_path / "r.parquet", "--workers", "1",
               "--no-progress") == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if re.match(PROGRAM_ROW, line)]
    assert len(rows) == 5
    ends = [_number_ends(row)[:4] for row in rows]  # eligible … not applicable
    assert all(len(e) == 4 for e in ends)
    assert all(e == ends[0] for e in ends), "\n".join(rows)
    # the cost column too, where a row has a monthly cost (特困, 低保)
    assert _number_ends(rows[0])[4] == _number_ends(rows[1])[4]


def test_whatif_columns_line_up_by_display_width(chinese_ids, tmp_path, capsys):
    assert cli("caseload", "whatif", chinese_ids, "--jurisdiction", "wuhan", "--as-of",
               "2025-07-01", "--set", "dibao.standard.urban=1000", "--out-dir", tmp_path,
               "--workers", "1", "--no-progress") == 0  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if re.match(PROGRAM_ROW, line)]
    assert len(rows) == 5
    ends = [_number_ends(row)[:4] for row in rows]  # eligible before, after, gained, lost
    assert all(e == ends[0] for e in ends), "\n".join(rows)


def test_generate_refuses_to_pour_a_caseload_onto_a_terminal(tmp_path):
    import pty
    import threading

    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    shown = bytearray()

    def read_terminal() -> None:
        try:
            while chunk := os.read(leader, 65536):
                shown.extend(chunk)
        except OSError:  # the terminal closed
            pass

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "caseload", "generate", "--jurisdiction", "wuhan",
         "--households", "2000"],
        stdout=follower, stderr=subprocess.PIPE, cwd=tmp_path, env=env,
    )  # fmt: skip
    os.close(follower)
    err = process.stderr.read().decode("utf-8")
    code = process.wait(timeout=120)
    reader.join(timeout=10)
    os.close(leader)
    assert code == 2
    assert bytes(shown) == b""  # nothing written to the terminal
    assert "--out" in err and "未给出 --out" in err and "no --out given" in err

    # a pipe, or --out -, still gets JSONL on standard output
    piped = subprocess.run(
        [sys.executable, "-m", "service.cli", "caseload", "generate", "--jurisdiction", "wuhan",
         "--households", "3", "--out", "-"],
        capture_output=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert piped.returncode == 0
    assert [json.loads(x)["id"] for x in piped.stdout.splitlines()] == [
        "H0000001", "H0000002", "H0000003",
    ]  # fmt: skip

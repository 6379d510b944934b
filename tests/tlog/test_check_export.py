"""The offline audit against each attack on the log: every one is found, the first bad record
named; an intact log passes. The logs are real: records hashed, trees built, checkpoints signed."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.canonical import canonical_json
from service.tlog.check import MAX_PER_KIND, CheckInputError, check_export
from service.tlog.checkpoint import Checkpoint, sign_checkpoint
from service.tlog.export import FORMAT, ExportError, read_export, write_export
from service.tlog.merkle import MemoryTree, leaf_hash
from service.tlog.note import Signer

ORIGIN = "civil-affairs.example/decisions/v1"
KEY = Signer.generate(ORIGIN)
VKEY = KEY.verifier.key_text()

Row = tuple[int, str, bytes]


def decision(seq: int, amount: int | None = None) -> Row:
    body = {"seq": seq, "decision_id": f"d-{seq:04d}", "program": "dibao"}
    body["amount"] = str(seq * 10 if amount is None else amount)
    return seq, f"d-{seq:04d}", canonical_json(body).encode()


@dataclass
class Log:
    rows: list[Row]
    notes: list[str]  # signed checkpoints, oldest first

    def note_of_size(self, size: int) -> str:
        return next(n for n in self.notes if n.split("\n")[1] == str(size))


def build(rows: list[Row], batch: int = 1, signer: Signer = KEY) -> Log:
    """A log as the store keeps it: a checkpoint signed after every ``batch`` records."""
    tree = MemoryTree()
    notes = []
    for i, (_, _, data) in enumerate(rows):
        tree.append(leaf_hash(data))
        if (i + 1) % batch == 0 or i + 1 == len(rows):
            notes.append(sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), signer))
    return Log(rows, notes)


def honest(n: int, batch: int = 1) -> Log:
    return build([decision(s) for s in range(1, n + 1)], batch)


def export(directory: Path, rows: list[Row], notes: list[str], name: str = "log.jsonl") -> Path:
    path = directory / name
    write_export(path, rows, notes, origin=ORIGIN)
    return path


def check(directory: Path, rows: list[Row], notes: list[str], kept: str | None = None):
    return check_export(export(directory, rows, notes), kept, VKEY)


# ---- an intact log ----


def test_an_intact_log_passes_with_and_without_a_kept_checkpoint(tmp_path: Path) -> None:
    log = honest(40, batch=3)
    report = check(tmp_path, log.rows, log.notes)
    assert report.ok, report.render()
    assert (report.records, report.checkpoints, report.newest.size) == (40, 14, 40)
    kept = log.note_of_size(12)
    report = check(tmp_path, log.rows, log.notes, kept)
    assert report.ok and report.kept.size == 12
    assert "日志完好" in report.render() and "log intact" in report.render()


def test_the_export_file_is_json_lines_as_documented(tmp_path: Path) -> None:
    log = honest(3)
    lines = export(tmp_path, log.rows, log.notes).read_text(encoding="utf-8").splitlines()
    objects = [json.loads(line) for line in lines]
    assert objects[0] == {"type": "header", "format": FORMAT, "origin": ORIGIN, "first_seq": 1}
    assert [o["type"] for o in objects] == ["header"] + ["record"] * 3 + ["checkpoint"] * 3 + [
        "end"
    ]
    assert objects[1]["seq"] == 1 and objects[1]["decision_id"] == "d-0001"
    assert objects[-1] == {"type": "end", "records": 3, "checkpoints": 3}
    assert objects[4]["note"] == log.notes[0]


def test_an_empty_log_passes(tmp_path: Path) -> None:
    report = check(tmp_path, [], [])
    assert report.ok and report.records == 0


# ---- rewrite ----


def test_a_rewritten_record_is_named_exactly(tmp_path: Path) -> None:
    log = honest(30)
    rows = list(log.rows)
    rows[5] = decision(6, amount=99999)  # seq 6: another amount, everything else alike
    report = check(tmp_path, rows, log.notes)
    assert not report.ok
    assert report.first_bad.kind == "rewrite"
    assert (report.first_bad.seq, report.first_bad.decision_id) == (6, "d-0006")
    assert "seq 6" in report.first_bad.text.zh and "d-0006" in report.first_bad.text.zh
    assert "seq 6" in report.first_bad.text.en
    assert "第一条有问题的记录：seq 6" in report.render("zh")


def test_a_rewrite_inside_a_batch_names_the_batch(tmp_path: Path) -> None:
    log = honest(30, batch=4)
    rows = list(log.rows)
    rows[9] = decision(10, amount=1)  # seq 10, in the batch of seq 9..12
    report = check(tmp_path, rows, log.notes)
    assert report.kinds() == {"rewrite"}
    assert report.first_bad.seq == 9
    assert "在 seq 9（决定 d-0009） 至 seq 12（决定 d-0012） 之间" in report.first_bad.text.zh
    assert "among seq 9 (decision d-0009) to seq 12 (decision d-0012)" in report.first_bad.text.en


def test_a_rewrite_whose_later_checkpoints_were_deleted_leaves_records_unsigned(
    tmp_path: Path,
) -> None:
    log = honest(20)
    rows = list(log.rows)
    rows[11] = decision(12, amount=5)
    report = check(tmp_path, rows, log.notes[:11])  # the checkpoints of size >= 12 removed
    assert report.kinds() == {"unsigned"}
    assert report.first_bad.seq == 12


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 24), at=st.integers(0, 23), batch=st.integers(1, 3))
def test_any_rewritten_record_is_found_within_its_batch(n: int, at: int, batch: int) -> None:
    at %= n
    log = honest(n, batch)
    rows = list(log.rows)
    rows[at] = decision(at + 1, amount=-7)
    with tempfile.TemporaryDirectory() as directory:
        report = check(Path(directory), rows, log.notes)
    assert not report.ok
    first = report.first_bad
    assert first.kind == "rewrite"
    assert at + 1 - batch < first.seq <= at + 1  # the batch holding it starts there
    if batch == 1:
        assert first.decision_id == f"d-{at + 1:04d}"


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(3, 20),
    attack=st.sampled_from(["rewrite", "truncate", "swap", "remove"]),
    at=st.integers(0, 19),
    other=st.integers(1, 19),
)
def test_every_attack_names_the_first_bad_record(n: int, attack: str, at: int, other: int) -> None:
    """With a checkpoint per record (the service signs every commit), each attack is found
    and the record it touched first is named: the seq where the log stops being the signed one."""
    log = honest(n)
    rows = list(log.rows)
    at %= n - 1  # leave a record after it, so that swap and remove have one to work with
    if attack == "rewrite":
        rows[at] = decision(at + 1, amount=-1)
    elif attack == "truncate":
        rows = rows[: at + 1]
    elif attack == "swap":
        later = at + 1 + other % (n - at - 1)
        rows[at], rows[later] = rows[later], rows[at]
    else:
        del rows[at]
    with tempfile.TemporaryDirectory() as directory:
        report = check(Path(directory), rows, log.notes)
    assert not report.ok
    expected = at + 2 if attack == "truncate" else at + 1
    first = report.first_bad
    assert first.index == expected - 1
    if attack == "remove":
        assert (first.kind, first.seq) == ("removed", expected)
    elif attack == "truncate":
        assert (first.kind, first.seq) == ("truncation", expected)
    elif attack == "swap":
        assert first.kind == "reorder" and f"seq {expected} " in first.text.en
    else:
        assert (first.kind, first.seq, first.decision_id) == (
            "rewrite",
            expected,
            f"d-{expected:04d}",
        )


# ---- truncation ----


def test_removing_the_last_records_is_a_truncation(tmp_path: Path) -> None:
    log = honest(20)
    report = check(tmp_path, log.rows[:17], log.notes)
    assert report.kinds() == {"truncation"}
    assert report.first_bad.seq == 18
    assert "seq 18" in report.first_bad.text.zh and "from seq 18 on" in report.first_bad.text.en


def test_truncating_records_and_checkpoints_is_caught_by_the_kept_checkpoint(
    tmp_path: Path,
) -> None:
    log = honest(20)
    rows, notes = log.rows[:17], log.notes[:17]  # a clean cut: the export alone looks intact
    assert check(tmp_path, rows, notes).ok
    report = check(tmp_path, rows, notes, kept=log.note_of_size(20))
    assert report.kinds() == {"truncation", "rollback"}
    assert report.first_bad.seq == 18


# ---- reorder and removal ----


def test_records_out_of_order_are_named(tmp_path: Path) -> None:
    log = honest(12)
    rows = list(log.rows)
    rows[4], rows[5] = rows[5], rows[4]
    report = check(tmp_path, rows, log.notes)
    assert report.kinds() == {"reorder", "rewrite"}
    assert report.first_bad.kind == "reorder"
    assert "seq 5 不在它的位置" in report.first_bad.text.zh
    assert report.first_bad.seq == 6  # seq 6 now comes at the place of seq 5
    assert report.first_bad.decision_id == "d-0006"


def test_swapped_contents_under_kept_numbers_are_a_rewrite_at_the_first(tmp_path: Path) -> None:
    log = honest(12)
    rows = list(log.rows)
    (s4, i4, d4), (s5, i5, d5) = rows[3], rows[4]
    rows[3], rows[4] = (s4, i4, d5), (s5, i5, d4)
    report = check(tmp_path, rows, log.notes)
    assert report.kinds() == {"rewrite"}
    assert report.first_bad.seq == 4


def test_a_removed_record_is_named(tmp_path: Path) -> None:
    log = honest(12)
    rows = log.rows[:6] + log.rows[7:]  # seq 7 deleted, the others kept as they were
    report = check(tmp_path, rows, log.notes)
    assert "removed" in report.kinds()
    removed = next(f for f in report.findings if f.kind == "removed")
    assert "seq 7 不在导出中" in removed.text.zh and "seq 7 is not in the export" in removed.text.en
    assert "seq 8（决定 d-0008）" in removed.text.zh  # the record that took its place
    assert (report.first_bad.kind, report.first_bad.seq) == ("removed", 7)
    assert report.first_bad.decision_id is None


# ---- fork ----


def test_two_signed_roots_for_one_size_are_a_fork(tmp_path: Path) -> None:
    log = honest(10)
    other = build([*log.rows[:7], decision(8, amount=3), *log.rows[8:]])
    notes = [*log.notes, other.note_of_size(10)]
    report = check(tmp_path, log.rows, notes)
    assert "fork" in report.kinds()
    assert any("大小 10" in f.text.zh and f.kind == "fork" for f in report.findings)


def test_a_newer_checkpoint_inconsistent_with_an_older_one_is_a_fork(tmp_path: Path) -> None:
    old = honest(10)
    forked = build([*old.rows[:3], decision(4, amount=0), *old.rows[4:], decision(11)])
    notes = [old.note_of_size(6), forked.note_of_size(11)]  # both signed by the log's key
    report = check(tmp_path, forked.rows, notes)
    assert report.kinds() == {"fork"}
    assert report.first_bad.seq == 1  # between the start and size 6: no earlier checkpoint
    assert "大小 6" in report.first_bad.text.zh and "size 11" in report.first_bad.text.en


# ---- forged checkpoints ----


def test_checkpoints_signed_by_another_key_are_forged(tmp_path: Path) -> None:
    """The attacker rewrites seq 6 and signs new checkpoints with a key of the same name."""
    log = honest(10)
    rows = list(log.rows)
    rows[5] = decision(6, amount=1)
    forger = Signer.generate(ORIGIN)
    forged = build(rows, signer=forger)
    report = check(tmp_path, rows, log.notes[:5] + forged.notes[5:])
    assert report.kinds() == {"forged_checkpoint", "unsigned"}
    forged_finding = next(f for f in report.findings if f.kind == "forged_checkpoint")
    assert f"{ORIGIN}+{forger.key_id:08x}" in forged_finding.text.en
    assert report.first_bad.seq == 6


def test_an_altered_checkpoint_is_forged(tmp_path: Path) -> None:
    log = honest(8)
    rows = list(log.rows)
    rows[7] = decision(8, amount=1)
    tree = MemoryTree.of(leaf_hash(data) for _, _, data in rows)
    lines = log.notes[-1].split("\n")
    lines[2] = Checkpoint(ORIGIN, 8, tree.root()).to_text().split("\n")[2]  # the new root
    report = check(tmp_path, rows, [*log.notes[:-1], "\n".join(lines)])
    assert report.kinds() == {"forged_checkpoint", "unsigned"}
    assert report.first_bad.seq == 8


def test_a_checkpoint_of_another_log_is_refused(tmp_path: Path) -> None:
    log = honest(4)
    other = sign_checkpoint(Checkpoint("other.example/log", 4, MemoryTree().root()), KEY)
    report = check(tmp_path, log.rows, [*log.notes, other])
    assert report.kinds() == {"bad_checkpoint"}


# ---- the kept checkpoint ----


def test_a_log_re_signed_after_a_rewrite_is_caught_by_the_kept_checkpoint(tmp_path: Path) -> None:
    """The key holder rewrites seq 3 and re-signs every checkpoint: the export alone is
    self-consistent; the checkpoint the auditor kept at size 8 is not a prefix of it."""
    log = honest(12)
    kept = log.note_of_size(8)
    rewritten = build([*log.rows[:2], decision(3, amount=0), *log.rows[3:]])
    assert check(tmp_path, rewritten.rows, rewritten.notes).ok
    report = check(tmp_path, rewritten.rows, rewritten.notes, kept)
    assert report.kinds() == {"kept_inconsistent"}
    assert "大小 8" in report.first_bad.text.zh


def test_a_kept_checkpoint_is_checked_by_a_consistency_proof(tmp_path: Path) -> None:
    log = honest(50, batch=7)
    report = check(tmp_path, log.rows, log.notes, log.note_of_size(21))
    assert report.ok
    assert report.kept.size == 21 and report.newest.size == 50


def test_a_kept_checkpoint_of_the_same_size_with_another_root_is_a_fork(tmp_path: Path) -> None:
    log = honest(6)
    other = build([decision(1, amount=2), *log.rows[1:]])
    report = check(tmp_path, log.rows, log.notes, other.note_of_size(6))
    assert "fork" in report.kinds() and "kept_inconsistent" in report.kinds()


def test_a_kept_checkpoint_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    log = honest(4)
    forged = build(log.rows, signer=Signer.generate(ORIGIN)).notes[-1]
    with pytest.raises(CheckInputError) as refused:
        check(tmp_path, log.rows, log.notes, forged)
    assert "保存的检查点" in refused.value.text.zh


def test_an_unusable_public_key_is_refused(tmp_path: Path) -> None:
    log = honest(2)
    with pytest.raises(CheckInputError):
        check_export(export(tmp_path, log.rows, log.notes), None, VKEY[:-2])


def test_during_a_rotation_either_key_verifies(tmp_path: Path) -> None:
    log = honest(4)
    newer = Signer.generate(ORIGIN)
    rotated = build(log.rows, signer=newer)
    path = export(tmp_path, log.rows, log.notes[:2] + rotated.notes[2:])
    assert check_export(path, None, [VKEY, newer.verifier.key_text()]).ok
    assert check_export(path, None, VKEY).kinds() == {"forged_checkpoint", "unsigned"}


# ---- the file itself ----


def _rewrite_lines(path: Path, change) -> Path:  # noqa: ANN001
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(change(lines)), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "change",
    [
        lambda lines: lines[:-1],  # cut short: no end line
        lambda lines: lines[:3] + lines[4:],  # a record line dropped: the counts disagree
        lambda lines: [lines[0], "not json\n", *lines[1:]],
        lambda lines: lines[1:],  # no header
        lambda lines: [*lines, lines[-1]],  # content after the end
        lambda lines: [*lines[:-2], lines[1], *lines[-2:]],  # a record after a checkpoint
    ],
)
def test_a_broken_export_file_is_refused_naming_the_line(tmp_path: Path, change) -> None:  # noqa: ANN001
    log = honest(5)
    path = _rewrite_lines(export(tmp_path, log.rows, log.notes), change)
    with pytest.raises(ExportError) as refused:
        check_export(path, None, VKEY)
    assert refused.value.text.zh != refused.value.text.en


def test_the_reader_gives_back_what_the_writer_wrote(tmp_path: Path) -> None:
    log = honest(3)
    items = list(read_export(export(tmp_path, log.rows, log.notes)))
    records = [i for i in items[1:] if hasattr(i, "leaf")]
    assert [(r.seq, r.decision_id, r.leaf) for r in records] == log.rows
    assert [replace(r, index=0).index for r in records] == [0, 0, 0]
    assert [i.text for i in items if hasattr(i, "text")] == log.notes


def test_the_report_as_data(tmp_path: Path) -> None:
    log = honest(9)
    rows = list(log.rows)
    rows[2] = decision(3, amount=4)
    data = check(tmp_path, rows, log.notes).as_dict()
    assert data["ok"] is False
    assert data["first_bad"] == {"seq": 3, "decision_id": "d-0003", "kind": "rewrite"}
    assert all(f["zh"] and f["en"] for f in data["findings"])


# ---- the records' content, held against their leaves ----


def leaf_of(fields: dict[str, object]) -> bytes:
    """A store's leaf function: the hash of the record's canonical JSON."""
    return hashlib.sha256(canonical_json(fields).encode()).digest()


def with_content(n: int, batch: int = 1) -> tuple[list[tuple[int, str, bytes, dict]], Log]:
    records = []
    for seq in range(1, n + 1):
        fields = {"seq": seq, "decision_id": f"d-{seq:04d}", "program": "dibao", "amount": "10"}
        records.append((seq, f"d-{seq:04d}", leaf_of(fields), fields))
    return records, build([r[:3] for r in records], batch)


def _export_content(directory: Path, records: list, notes: list[str]) -> Path:
    path = directory / "content.jsonl"
    write_export(path, records, notes, origin=ORIGIN)
    return path


def test_content_altered_under_its_leaf_is_named_exactly(tmp_path: Path) -> None:
    records, log = with_content(12, batch=4)
    seq7 = records[6]
    records[6] = (*seq7[:3], {**seq7[3], "amount": "99999"})  # the leaf (signed hash) kept
    path = _export_content(tmp_path, records, log.notes)
    # the leaves and checkpoints alone are intact: only the content check sees it
    assert check_export(path, None, VKEY).ok
    report = check_export(path, None, VKEY, leaf_of_record=leaf_of)
    assert report.kinds() == {"content"}
    assert (report.first_bad.seq, report.first_bad.decision_id) == (7, "d-0007")
    assert "seq 7" in report.first_bad.text.zh and "d-0007" in report.first_bad.text.en


def test_intact_content_passes_and_is_counted(tmp_path: Path) -> None:
    records, log = with_content(9)
    report = check_export(
        _export_content(tmp_path, records, log.notes), None, VKEY, leaf_of_record=leaf_of
    )
    assert report.ok and report.contents_checked == 9
    assert "9 条记录的内容已与其叶子核对" in report.render("zh")
    lines = (tmp_path / "content.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[1])["record"] == records[0][3]  # the auditor reads the fields


def test_a_flood_of_findings_is_listed_up_to_a_bound_and_counted(tmp_path: Path) -> None:
    records, log = with_content(30)
    records = [(*r[:3], {**r[3], "amount": "0"}) for r in records]  # every content altered
    path = _export_content(tmp_path, records, log.notes)
    report = check_export(path, None, VKEY, leaf_of_record=leaf_of)
    assert len(report.findings) == MAX_PER_KIND and report.unlisted == 30 - MAX_PER_KIND
    assert f"{30 - MAX_PER_KIND} more of these not listed" in report.render("en")
    assert report.first_bad.seq == 1


def test_content_missing_or_unhashable_is_named(tmp_path: Path) -> None:
    records, log = with_content(5)
    records[1] = (*records[1][:3], None)
    records[3] = (*records[3][:3], {"amount": float("nan")})
    path = tmp_path / "content.jsonl"
    with path.open("w", encoding="utf-8") as out:  # NaN is what a damaged row could hold
        write_export(out, records, log.notes, origin=ORIGIN)
    report = check_export(path, None, VKEY, leaf_of_record=leaf_of)
    assert report.kinds() == {"unreadable"}
    assert [f.seq for f in report.findings] == [2, 4]

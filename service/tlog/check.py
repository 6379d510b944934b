"""The offline audit of an exported decision log: the file, the log's public key, and
(better) a checkpoint the auditor kept earlier. No database, no network.

What is checked, and what each failure means:

- every record's leaf is rehashed and the tree rebuilt from them, in file order;
- given the store's leaf function, every record's content (its fields, carried by the export)
  must give its leaf: content altered under an unchanged leaf is a **content** rewrite, named
  exactly (without the function the content is not checked: the leaves alone are);
- records must be numbered ``first_seq, first_seq + 1, …``: a number out of order is a
  **reorder**, a missing number a **removed** record, both named exactly;
- every checkpoint must verify under the auditor's key: one signed by another key, or whose
  text or signature was altered, is a **forged checkpoint**; one of another log is refused;
- every verified checkpoint's root must be the rebuilt tree's root at its size. Records that
  do not give it were **rewritten** (or reordered, or removed): the first bad record lies
  after the largest checkpoint that still matches and within the smallest that does not, and
  is named exactly when that is one record (a checkpoint per commit batch makes it so);
- a checkpoint larger than the records is a **truncation**; records beyond the newest
  checkpoint are **unsigned** (a record inserted after the fact looks so);
- two verified checkpoints of one size with different roots, or an older one the records
  contradict while a newer one matches, are a **fork**: the key signed two histories;
- the kept checkpoint must be a prefix of the records and of the newest checkpoint (an RFC 9162
  consistency proof is made from the rebuilt tree and verified): otherwise the log was
  **rolled back**, rewritten or forked since the auditor kept it.

The checkpoints only prove what their key signed: a key holder who rewrites the log and
re-signs everything is caught only by a checkpoint kept from before (``kept``).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from service.bilingual import BilingualError, Lang, Text
from service.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from service.tlog.export import Header, Note, Record, read_export
from service.tlog.merkle import MemoryTree, consistency_proof, leaf_hash, verify_consistency
from service.tlog.note import InvalidSignature, NoteError, UnverifiedNote, Verifier

Kind = Literal[
    "content",
    "unreadable",
    "reorder",
    "removed",
    "rewrite",
    "truncation",
    "unsigned",
    "forged_checkpoint",
    "bad_checkpoint",
    "fork",
    "kept_inconsistent",
    "rollback",
]
LeafOf = Callable[[dict[str, Any]], bytes]  # a record's fields -> its leaf data (the store's)
MAX_PER_KIND = 20  # a damaged log of a million rows gives a report a person can read


class CheckInputError(BilingualError):
    """The auditor's own inputs (key, kept checkpoint) cannot be used."""


@dataclass(frozen=True)
class Finding:
    """One problem; ``index`` is the leaf index of the first record concerned, if known."""

    kind: Kind
    text: Text
    index: int | None = None
    seq: int | None = None
    decision_id: str | None = None
    last_index: int | None = None  # a range: the first bad record is one of index..last_index


@dataclass
class CheckReport:
    records: int = 0
    checkpoints: int = 0  # verified
    contents_checked: int = 0  # records whose fields were held against their leaf
    newest: Checkpoint | None = None
    kept: Checkpoint | None = None
    findings: list[Finding] = field(default_factory=list)
    unlisted: int = 0  # findings beyond MAX_PER_KIND of a kind, counted only

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad(self) -> Finding | None:
        """The finding about the earliest record (exact ones first), else the first finding."""
        located = [f for f in self.findings if f.index is not None]
        if located:
            return min(located, key=lambda f: (f.index, f.last_index not in (None, f.index)))
        return self.findings[0] if self.findings else None

    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}

    def render(self, lang: Lang = "both") -> str:
        size = self.newest.size if self.newest else 0
        if self.ok:
            head = Text(
                f"日志完好：{self.records} 条记录，{self.checkpoints} 个检查点签名有效，"
                f"最新检查点大小 {size}" + ("，与保存的检查点一致" if self.kept else ""),
                f"log intact: {self.records} records, {self.checkpoints} checkpoints verified, "
                f"newest checkpoint size {size}"
                + (", consistent with the kept checkpoint" if self.kept else ""),
            )
            if self.contents_checked:
                n = self.contents_checked
                head = Text(
                    f"{head.zh}；{n} 条记录的内容已与其叶子核对",
                    f"{head.en}; the content of {n} records checked against their leaves",
                )
            return head.render(lang)
        lines = [
            Text(
                f"日志未通过检查：{len(self.findings)} 个问题（{self.records} 条记录）",
                f"log check FAILED: {len(self.findings)} problem"
                f"{'s' if len(self.findings) > 1 else ''} ({self.records} records)",
            ).render(lang)
        ]
        first = self.first_bad
        if first is not None and first.seq is not None:
            who = f"seq {first.seq}" + (
                f"（决定 {first.decision_id}）" if first.decision_id else ""
            )
            who_en = f"seq {first.seq}" + (
                f" (decision {first.decision_id})" if first.decision_id else ""
            )
            lines.append(
                Text(f"第一条有问题的记录：{who}", f"first bad record: {who_en}").render(lang)
            )
        lines += [f.text.render(lang) for f in self.findings]
        if self.unlisted:
            more = Text(
                f"另有 {self.unlisted} 个同类问题未列出",
                f"{self.unlisted} more of these not listed",
            )
            lines.append(more.render(lang))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        first = self.first_bad
        return {
            "ok": self.ok,
            "records": self.records,
            "checkpoints_verified": self.checkpoints,
            "contents_checked": self.contents_checked,
            "unlisted": self.unlisted,
            "newest_size": self.newest.size if self.newest else None,
            "kept_size": self.kept.size if self.kept else None,
            "first_bad": None
            if first is None
            else {"seq": first.seq, "decision_id": first.decision_id, "kind": first.kind},
            "findings": [
                {
                    "kind": f.kind,
                    "seq": f.seq,
                    "decision_id": f.decision_id,
                    "zh": f.text.zh,
                    "en": f.text.en,
                }
                for f in self.findings
            ],
        }


def _verifiers(key_text: str | Sequence[str]) -> list[Verifier]:
    texts = [key_text] if isinstance(key_text, str) else list(key_text)
    try:
        return [Verifier.from_key_text(text) for text in texts]
    except NoteError as bad:
        raise CheckInputError(
            f"公钥无法使用：{bad.text.zh}", f"the public key cannot be used: {bad.text.en}"
        ) from None


@dataclass
class _Signed:
    line: int
    checkpoint: Checkpoint


class _Audit:
    def __init__(self, verifiers: list[Verifier], leaf_of_record: LeafOf | None):
        self.verifiers = verifiers
        self.leaf_of_record = leaf_of_record
        self.report = CheckReport()
        self.tree = MemoryTree()
        self.header = Header(None, 1)
        self.signed: list[_Signed] = []
        self._counts: dict[str, int] = {}
        self.seqs = array("q")
        self.leaves = bytearray()  # the leaf hashes end to end; the tree is built once, in judge

    # ---- findings ----

    def add(self, kind: Kind, zh: str, en: str, index: int | None = None) -> None:
        self._keep(Finding(kind, Text(zh, en), index))

    def _keep(self, finding: Finding) -> None:
        self._counts[finding.kind] = self._counts.get(finding.kind, 0) + 1
        if self._counts[finding.kind] <= MAX_PER_KIND:
            self.report.findings.append(finding)
        else:
            self.report.unlisted += 1

    def seq_of(self, index: int) -> int:
        return self.header.first_seq + index

    # ---- reading ----

    def record(self, record: Record) -> None:
        self.seqs.append(record.seq)
        self.leaves += leaf_hash(record.leaf)
        if self.leaf_of_record is not None:
            self.content(record, self.leaf_of_record)

    def content(self, record: Record, leaf_of: LeafOf) -> None:
        if record.fields is None:
            self.add(
                "unreadable",
                f"记录 seq {record.seq} 没有内容，无法与其叶子核对",
                f"record seq {record.seq} carries no content to hold against its leaf",
                record.index,
            )
            return
        try:
            leaf = leaf_of(record.fields)
        except Exception:  # noqa: BLE001 (any failure of the store's function on a damaged record)
            leaf = None
        self.report.contents_checked += 1
        if leaf is None:
            self.add(
                "unreadable",
                f"记录 seq {record.seq} 的内容无法计算哈希（已损坏）",
                f"record seq {record.seq}: its content cannot be hashed (damaged)",
                record.index,
            )
        elif leaf != record.leaf:
            self.add(
                "content",
                f"记录内容被改动：seq {record.seq} 的内容与其叶子（已签名的哈希）不符",
                f"record content altered: the content of seq {record.seq} does not give its leaf (the signed hash)",
                record.index,
            )

    def numbering(self) -> None:
        """Record i must carry seq first_seq + i: the first place where it does not is named,
        as a removal if the seq that belongs there is nowhere in the file, else a reorder."""
        first_seq = self.header.first_seq
        place = next((i for i, seq in enumerate(self.seqs) if seq != first_seq + i), None)
        if place is None:
            return
        present = sorted(self.seqs)

        def has(seq: int) -> bool:
            at = bisect_left(present, seq)
            return at < len(present) and present[at] == seq

        missing = sum(1 for i in range(len(present)) if not has(first_seq + i))
        expected = first_seq + place
        if not has(expected):
            self.add(
                "removed",
                f"记录被删除：seq {expected} 不在导出中（共缺 {missing} 个编号）",
                f"record removed: seq {expected} is not in the export ({missing} missing in all)",
                place,
            )
        else:
            self.add(
                "reorder",
                f"记录顺序被调换：seq {expected} 不在它的位置（文件中第 {place + 1} 条记录）",
                f"records reordered: seq {expected} is not in its place (record {place + 1} of the file)",
                place,
            )

    def checkpoint(self, note: Note) -> None:
        where_zh, where_en = (
            f"导出文件第 {note.line} 行的检查点",
            f"the checkpoint on line {note.line} of the export",
        )
        try:
            checkpoint = open_checkpoint(note.text, self.verifiers, self.header.origin)
        except UnverifiedNote as forged:
            carried = ", ".join(forged.names)
            self.add(
                "forged_checkpoint",
                f"伪造的检查点：{where_zh}不是由受信任的密钥签名（所带签名：{carried or '无'}）",
                f"forged checkpoint: {where_en} is not signed by the trusted key (signatures carried: {carried or 'none'})",
            )
            return
        except InvalidSignature as altered:
            self.add(
                "forged_checkpoint",
                f"伪造或被改动的检查点：{where_zh}签名无效（{altered.text.zh}）",
                f"forged or altered checkpoint: {where_en} has an invalid signature ({altered.text.en})",
            )
            return
        except (NoteError, CheckpointError) as bad:
            self.add(
                "bad_checkpoint",
                f"{where_zh}无法使用：{bad.text.zh}",
                f"{where_en} cannot be used: {bad.text.en}",
            )
            return
        if self.header.origin is None:
            self.header = Header(checkpoint.origin, self.header.first_seq)
        self.signed.append(_Signed(note.line, checkpoint))

    # ---- judging ----

    def judge(self, kept: Checkpoint | None) -> None:
        self.tree = MemoryTree.of_concatenated(self.leaves)
        self.numbering()
        size = self.tree.size
        self.report.records = size
        self.report.checkpoints = len(self.signed)
        by_size: dict[int, set[bytes]] = {}
        for s in self.signed:
            by_size.setdefault(s.checkpoint.size, set()).add(s.checkpoint.root)
        for forked_size, roots in sorted(by_size.items()):
            if len(roots) > 1:
                self.add(
                    "fork",
                    f"日志分叉：同一密钥为大小 {forked_size} 签了 {len(roots)} 个不同的根",
                    f"fork: the key signed {len(roots)} different roots for tree size {forked_size}",
                )
        # which signed sizes the rebuilt tree gives (None: beyond the records)
        matches: dict[int, bool] = {}
        for s in self.signed:
            cp = s.checkpoint
            if cp.size <= size:
                same = self.tree.root(cp.size) == cp.root
                matches[cp.size] = matches.get(cp.size, True) and same
        matched = sorted(n for n, ok in matches.items() if ok)
        mismatched = sorted(n for n, ok in matches.items() if not ok)
        newest = (
            max(self.signed, key=lambda s: s.checkpoint.size).checkpoint if self.signed else None
        )
        self.report.newest = newest
        if mismatched:
            bad = mismatched[0]
            later_match = [n for n in matched if n > bad]
            low = max((n for n in matched if n < bad), default=0)
            if later_match:
                self._range(
                    "fork", low, bad,
                    f"日志分叉：大小 {bad} 的已签名检查点与大小 {later_match[0]} 的已签名检查点不一致（记录与后者相符）",
                    f"fork: the signed checkpoint of size {bad} is not consistent with the signed checkpoint of size {later_match[0]} (the records match the latter)",
                )  # fmt: skip
            else:
                self._range(
                    "rewrite", low, bad,
                    f"记录被改动：与大小 {bad} 的已签名检查点不符" + (f"（大小 {low} 的检查点仍相符）" if low else ""),
                    f"records rewritten: they do not give the root of the signed checkpoint of size {bad}" + (f" (the checkpoint of size {low} still matches)" if low else ""),
                )  # fmt: skip
        if newest is not None and newest.size > size:
            self._missing(size, newest.size, "已签名检查点", "the signed checkpoint")
        if newest is None and size:
            self._range(
                "unsigned", 0, size,
                "没有任何有效的已签名检查点：没有一条记录受签名保护",
                "no valid signed checkpoint: no record is covered by a signature",
            )  # fmt: skip
        elif newest is not None and newest.size < size:
            self._range(
                "unsigned", newest.size, size,
                f"有 {size - newest.size} 条记录在最新的已签名检查点（大小 {newest.size}）之外：可能是事后插入的",
                f"{size - newest.size} records lie beyond the newest signed checkpoint (size {newest.size}): they may have been inserted afterwards",
            )  # fmt: skip
        if kept is not None:
            self._kept(kept, newest, matched)

    def _kept(self, kept: Checkpoint, newest: Checkpoint | None, matched: list[int]) -> None:
        size = self.tree.size
        self.report.kept = kept
        kept_matches = False
        if kept.size > size:
            self._missing(size, kept.size, "您保存的检查点", "your kept checkpoint")
        elif self.tree.root(kept.size) != kept.root:
            low = max((n for n in matched if n < kept.size), default=0)
            self._range(
                "kept_inconsistent", low, kept.size,
                f"与您保存的检查点（大小 {kept.size}）不一致：此后日志被改写或分叉",
                f"not consistent with your kept checkpoint (size {kept.size}): the log was rewritten or forked since",
            )  # fmt: skip
        else:
            kept_matches = True
        if newest is None:
            return
        if newest.size < kept.size:
            self.add(
                "rollback",
                f"日志被回滚：最新的已签名检查点（大小 {newest.size}）比您保存的（大小 {kept.size}）更旧",
                f"log rolled back: the newest signed checkpoint (size {newest.size}) is older than your kept one (size {kept.size})",
                newest.size,
            )  # fmt: skip
        elif newest.size == kept.size and newest.root != kept.root:
            self._range(
                "fork", 0, kept.size,
                f"日志分叉：最新检查点与您保存的检查点大小同为 {kept.size}，根却不同",
                f"fork: the newest checkpoint and your kept one both have size {kept.size} but different roots",
            )  # fmt: skip
        elif kept_matches and newest.size <= size and self.tree.root(newest.size) == newest.root:
            # The RFC 9162 check a client without the records makes, from the rebuilt tree: with
            # both roots matching the records it holds; it is kept so that the two never differ.
            proof = consistency_proof(kept.size, newest.size, self.tree.get_node)
            if not verify_consistency(kept.size, newest.size, kept.root, newest.root, proof):
                self._range(
                    "kept_inconsistent", 0, kept.size,
                    f"一致性证明失败：最新检查点（大小 {newest.size}）不是您保存的检查点（大小 {kept.size}）的延续",
                    f"consistency proof failed: the newest checkpoint (size {newest.size}) does not extend your kept one (size {kept.size})",
                )  # fmt: skip

    def _range(self, kind: Kind, low: int, high: int, zh: str, en: str) -> None:
        """A finding about the records at leaf indices low..high-1 (named in ``_name``)."""
        self._keep(Finding(kind, Text(zh, en), low, last_index=high - 1))

    def _missing(self, size: int, signed: int, whose_zh: str, whose_en: str) -> None:
        self.add(
            "truncation",
            f"日志被截断：{whose_zh}包含 {signed} 条记录，导出只有 {size} 条；自 seq {self.seq_of(size)} 起的记录缺失",
            f"log truncated: {whose_en} covers {signed} records, the export holds {size}; the records from seq {self.seq_of(size)} on are missing",
            size,
        )


def _name(findings: list[Finding], path: Path, first_seq: int) -> list[Finding]:
    """Name the records each located finding concerns by their seq and decision id, as the
    file has them (a second, cheap pass over it)."""
    wanted = {f.index for f in findings if f.index is not None}
    wanted |= {f.last_index for f in findings if f.last_index is not None}
    found: dict[int, Record] = {}
    if wanted:
        for item in read_export(path):
            if isinstance(item, Record) and item.index in wanted:
                found[item.index] = item
    named = []
    for f in findings:
        first = found.get(f.index) if f.index is not None else None
        if first is None:  # not about a record, or beyond them (a truncation)
            seq = None if f.index is None else first_seq + f.index
            named.append(replace(f, seq=seq))
            continue
        who = (
            f"seq {first.seq}（决定 {first.decision_id}）",
            f"seq {first.seq} (decision {first.decision_id})",
        )
        last = found.get(f.last_index) if f.last_index is not None else None
        if last is not None and f.last_index != f.index:
            to = (
                f"seq {last.seq}（决定 {last.decision_id}）",
                f"seq {last.seq} (decision {last.decision_id})",
            )
            zh = f"{f.text.zh}；第一条有问题的记录在 {who[0]} 至 {to[0]} 之间"
            en = f"{f.text.en}; the first bad record is among {who[1]} to {to[1]}"
        elif f.kind in ("reorder", "removed"):
            zh, en = (
                f"{f.text.zh}；该位置上的记录：{who[0]}",
                f"{f.text.en}; the record in that place: {who[1]}",
            )
        else:
            zh, en = (
                f"{f.text.zh}；有问题的记录：{who[0]}",
                f"{f.text.en}; the bad record: {who[1]}",
            )
        if f.kind == "removed":  # the first bad record is the one that is gone
            named.append(replace(f, text=Text(zh, en), seq=first_seq + f.index))
            continue
        named.append(replace(f, text=Text(zh, en), seq=first.seq, decision_id=first.decision_id))
    return named


def check_export(
    path: Path | str,
    kept_checkpoint_text: str | None,
    verifier_key_text: str | Sequence[str],
    *,
    leaf_of_record: LeafOf | None = None,
) -> CheckReport:
    """Audit an export file with the log's public key (or keys, during a rotation) and, if
    the auditor kept one, an earlier signed checkpoint. ``report.ok`` only if all is well.

    ``leaf_of_record`` is the store's function from a record's fields to its leaf data: with
    it, the content the export carries is checked too, record by record.

    Raises ``CheckInputError`` if the key or the kept checkpoint cannot be used, and
    ``ExportError`` if the file is not a whole export.
    """
    verifiers = _verifiers(verifier_key_text)
    kept = None
    if kept_checkpoint_text is not None:
        try:
            kept = open_checkpoint(kept_checkpoint_text, verifiers)
        except (NoteError, CheckpointError) as bad:
            raise CheckInputError(
                f"您保存的检查点无法使用：{bad.text.zh}",
                f"your kept checkpoint cannot be used: {bad.text.en}",
            ) from None
    audit = _Audit(verifiers, leaf_of_record)
    for item in read_export(path):
        if isinstance(item, Header):
            audit.header = item
        elif isinstance(item, Record):
            audit.record(item)
        else:
            audit.checkpoint(item)
    origin = audit.header.origin
    if kept is not None and origin is not None and kept.origin != origin:
        raise CheckInputError(
            f"您保存的检查点属于另一个日志：{kept.origin}（导出为 {origin}）",
            f"your kept checkpoint is another log's: {kept.origin} (the export is {origin})",
        )
    audit.judge(kept)
    audit.report.findings = _name(audit.report.findings, Path(path), audit.header.first_seq)
    return audit.report

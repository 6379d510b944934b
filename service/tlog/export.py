"""The export file of the decision log: what an auditor checks offline, with no database.

JSON Lines, UTF-8, one object a line, in this order:

1. a header: ``{"type": "header", "format": "eligibility-tlog-export/1", "origin": <log
   name or null>, "first_seq": 1}``;
2. one line per record, in log order (leaf 0 first): ``{"type": "record", "seq": <n>,
   "decision_id": "<id>", "leaf": "<base64 of the record's leaf data>"}``, and, if the store
   gives it, ``"record": {<the record's fields>}`` (what the auditor reads; the check holds it
   against the leaf when it is given the store's leaf function). The leaf data are the exact
   bytes the log hashed (``SHA-256(0x00 || leaf)``); the record of leaf ``i`` has ``seq``
   ``first_seq + i``;
3. one line per signed checkpoint the log holds, oldest first: ``{"type": "checkpoint",
   "note": "<signed note text>"}`` (``checkpoint.py``; the note as signed, newlines and all);
4. an end line: ``{"type": "end", "records": <count>, "checkpoints": <count>}``, so that a file
   cut short in transit is told from a log cut short.

Nothing in the file is trusted by the check (``check.py``): the leaves are rehashed, the tree is
rebuilt, and every checkpoint must verify under the auditor's key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from service.bilingual import BilingualError

FORMAT = "eligibility-tlog-export/1"
FIRST_SEQ = 1  # the store numbers records from 1: leaf i is the record of seq i + 1

# (seq, decision id, leaf data[, the record's fields as JSON values]) as the store gives them
ExportRecord = tuple[int, str, bytes | str] | tuple[int, str, bytes | str, Mapping[str, Any] | None]


class ExportError(BilingualError):
    """The export file cannot be read as one (not the log's fault: the file's)."""


@dataclass(frozen=True)
class ExportSummary:
    records: int
    checkpoints: int


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_export(
    out: Path | str | IO[str],
    records: Iterable[ExportRecord],
    checkpoints: Iterable[str],
    *,
    origin: str | None = None,
) -> ExportSummary:
    """Write the export file: ``records`` in log order, then the signed ``checkpoints``.

    Both are consumed once, as they come (a store can stream a million rows through it).
    """
    if isinstance(out, str | Path):
        with Path(out).open("w", encoding="utf-8", newline="\n") as stream:
            return write_export(stream, records, checkpoints, origin=origin)
    out.write(_line({"type": "header", "format": FORMAT, "origin": origin, "first_seq": FIRST_SEQ}))
    count = 0
    for seq, decision_id, leaf, *fields in records:
        data = leaf.encode() if isinstance(leaf, str) else bytes(leaf)
        encoded = base64.b64encode(data).decode()
        record = {"type": "record", "seq": seq, "decision_id": decision_id, "leaf": encoded}
        if fields and fields[0] is not None:
            record["record"] = dict(fields[0])
        out.write(_line(record))
        count += 1
    notes = 0
    for note in checkpoints:
        out.write(_line({"type": "checkpoint", "note": note}))
        notes += 1
    out.write(_line({"type": "end", "records": count, "checkpoints": notes}))
    return ExportSummary(count, notes)


@dataclass(frozen=True)
class Header:
    origin: str | None
    first_seq: int


@dataclass(frozen=True)
class Record:
    index: int  # leaf index: its position in the file
    seq: int
    decision_id: str
    leaf: bytes
    fields: dict[str, Any] | None = None  # the record's content, when the export carries it


@dataclass(frozen=True)
class Note:
    line: int
    text: str


def _refused(line: int, zh: str, en: str) -> ExportError:
    return ExportError(
        f"导出文件第 {line} 行无法读取：{zh}", f"export file line {line} is unreadable: {en}"
    )


def read_export(path: Path | str) -> Iterator[Header | Record | Note]:
    """The header, each record, each checkpoint note, in file order; checks the end line.

    Raises ``ExportError`` (naming the line) for a file that is not an export, a line out of
    place, or a file cut short; it judges nothing else.
    """
    section = "header"
    counts = {"record": 0, "checkpoint": 0}
    with Path(path).open(encoding="utf-8") as stream:
        number = 0
        for number, text in enumerate(stream, start=1):  # noqa: B007 (used after the loop)
            try:
                obj = json.loads(text)
            except ValueError:
                raise _refused(number, "不是 JSON", "not JSON") from None
            kind = obj.get("type") if isinstance(obj, dict) else None
            if section == "header":
                if kind != "header" or obj.get("format") != FORMAT:
                    raise _refused(
                        number, f"不是 {FORMAT} 文件的开头", f"not the header of a {FORMAT} file"
                    )
                origin, first_seq = obj.get("origin"), obj.get("first_seq", FIRST_SEQ)
                if not (origin is None or isinstance(origin, str)) or type(first_seq) is not int:
                    raise _refused(number, "文件头字段无效", "invalid header fields")
                yield Header(origin, first_seq)
                section = "record"
            elif section == "end":
                raise _refused(number, "结束行之后还有内容", "content after the end line")
            elif kind == "record" and section == "record":
                yield _record(number, obj, counts["record"])
                counts["record"] += 1
            elif kind == "checkpoint" and section in ("record", "checkpoint"):
                note = obj.get("note")
                if not isinstance(note, str):
                    raise _refused(number, "检查点不是文本", "the checkpoint is not text")
                yield Note(number, note)
                counts["checkpoint"] += 1
                section = "checkpoint"
            elif kind == "end":
                if (
                    obj.get("records") != counts["record"]
                    or obj.get("checkpoints") != counts["checkpoint"]
                ):
                    raise _refused(
                        number,
                        f"结束行的计数与文件内容不符（实有 {counts['record']} 条记录、{counts['checkpoint']} 个检查点）",
                        f"the end line's counts do not match the file ({counts['record']} records, {counts['checkpoint']} checkpoints)",
                    )
                section = "end"
            else:
                raise _refused(number, f"意外的行类型 {kind!r}", f"unexpected line type {kind!r}")
    if section != "end":
        raise ExportError(
            f"导出文件不完整：没有结束行（读到第 {number} 行）",
            f"the export file is incomplete: no end line (read {number} lines)",
        )


def _record(number: int, obj: dict[str, Any], index: int) -> Record:
    seq, decision_id, leaf = obj.get("seq"), obj.get("decision_id"), obj.get("leaf")
    if type(seq) is not int or not isinstance(decision_id, str) or not isinstance(leaf, str):
        raise _refused(
            number,
            "记录须有整数 seq、文本 decision_id 和 leaf",
            "a record needs an integer seq, a text decision_id and leaf",
        )
    try:
        data = base64.b64decode(leaf, validate=True)
    except ValueError:
        raise _refused(number, "leaf 不是 base64", "leaf is not base64") from None
    fields = obj.get("record")
    if fields is not None and not isinstance(fields, dict):
        raise _refused(number, "record 不是 JSON 对象", "record is not a JSON object")
    return Record(index, seq, decision_id, data, fields)

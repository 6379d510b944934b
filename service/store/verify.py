"""``verify``: recompute the log from its records and hold it against the signed checkpoints.

Nothing the database says about itself is trusted: not ``chain_head``, not the stored tree.
The records are read in ``seq`` order; each must hash to its ``record_hash`` and point at the
previous one, its derived rows (the per-program index) must say what the record says, and its
leaf joins a tree rebuilt in memory. That tree must equal the stored one hash for hash, and
every stored checkpoint must be signed with the log's key and give the rebuilt tree's root at
its size (checked as the rebuild passes that size: one root per checkpoint). An administrator
who rewrites a record and recomputes every plain hash, node and the chain head fails the
checkpoints that signed the old history, even if the service has signed the rewritten tree
since (a fork); one who deletes records from the end is caught by the checkpoint's size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from service.store.hashing import GENESIS_HASH, log_leaf_data
from service.store.records import DECISION_COLUMNS, VerifyReport
from service.store.transparency import CheckpointSigner
from service.tlog import merkle

NODE_PAGE = 20_000


class Broken(Exception):
    """The first problem found: ``seq`` of the record it concerns (None: the log as a whole)."""

    def __init__(self, seq: int | None, decision_id: str | None, reason: str):
        super().__init__(reason)
        self.seq, self.decision_id, self.reason = seq, decision_id, reason


class LogVerifier:
    """One ``verify`` run inside one read snapshot (``conn`` is in a transaction)."""

    def __init__(
        self,
        conn: Connection,
        *,
        signer: CheckpointSigner | None,
        decode: Callable[[Sequence[Any]], dict[str, Any]],
        hash_record: Callable[[Mapping[str, Any]], str],
        batch_size: int,
    ):
        self._conn = conn
        self._signer = signer
        # raw row (DECISION_COLUMNS order) -> typed values; ValueError if unreadable
        self._decode = decode
        self._hash = hash_record
        self._batch = batch_size
        self.checked = 0
        # The stored checkpoints, checked in size order as the rebuilt tree reaches them.
        self._pending: list[tuple[int, bytes, str]] = []
        self._upcoming: tuple[int, bytes, str] | None = None
        self._after = -1
        self._good = 0  # the largest checkpoint checked so far
        self._checking = False

    def run(self, lo: int, seq_to: int | None) -> VerifyReport:
        last = int(self._scalar("SELECT max(seq) FROM decisions") or 0)
        hi = last if seq_to is None else min(seq_to, last)
        whole = lo == 1 and hi == last
        tree = merkle.MemoryTree() if whole else None
        checkpoint_size: int | None = None
        self._checking = tree is not None and self._signer is not None
        try:
            if self._checking:
                # The signed checkpoints as the walk passes them: they are what an insider
                # cannot recompute, so they come before the stored tree.
                self._next_checkpoint()
            self._walk(lo, hi, tree)
            if tree is not None:
                if self._checking:
                    checkpoint_size = self._beyond(tree)
                self._stored_tree(tree)
        except Broken as broken:
            return VerifyReport(
                self.checked, broken.seq, broken.decision_id, broken.reason, tree_size=last
            )
        return VerifyReport(
            self.checked, None, None, None, tree_size=last, checkpoint_size=checkpoint_size
        )

    # --- the records ------------------------------------------------------------------------

    def _walk(self, lo: int, hi: int, tree: merkle.MemoryTree | None) -> None:
        if lo > hi:
            return
        if lo == 1:
            expected_prev = GENESIS_HASH
        else:
            anchor = self._scalar("SELECT record_hash FROM decisions WHERE seq = :s", s=lo - 1)
            if anchor is None:
                raise Broken(lo - 1, None, f"missing link: no record with seq {lo - 1}")
            expected_prev = anchor
        expected = lo
        select = text(
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions"
            " WHERE seq >= :lo AND seq <= :hi ORDER BY seq LIMIT :n"
        )
        while expected <= hi:
            rows = self._conn.execute(select, {"lo": expected, "hi": hi, "n": self._batch}).all()
            if not rows:
                break
            first, end = rows[0][0], rows[-1][0]
            programs = self._programs(first, end)
            leaves = self._stored(0, first - 1, end - 1)
            for raw in rows:
                seq, decision_id = raw[0], raw[1]
                if seq != expected:
                    raise Broken(
                        expected,
                        None,
                        f"missing link: no record with seq {expected}"
                        f" (next is seq {seq}, id {decision_id})",
                    )
                try:
                    row = self._decode(raw)
                except (ValueError, TypeError, OverflowError) as error:
                    raise Broken(
                        seq,
                        decision_id,
                        f"record damaged: {error} (changed outside the store)",
                    ) from None
                if self._hash(row) != row["record_hash"]:
                    raise Broken(
                        seq, decision_id, "record_hash mismatch: the record's content was altered"
                    )
                if row["prev_hash"] != expected_prev:
                    raise Broken(
                        seq,
                        decision_id,
                        f"prev_hash does not match the record_hash of seq {seq - 1}",
                    )
                self._derived(seq, decision_id, row["programs_summary"], programs.get(seq, {}))
                leaf = merkle.leaf_hash(log_leaf_data(row["record_hash"]))
                if leaves.get(seq - 1) != leaf:
                    raise Broken(
                        seq,
                        decision_id,
                        "the log's stored leaf of this record does not match the record",
                    )
                if tree is not None:
                    tree.append(leaf)
                    if self._checking:
                        self._passed(tree)
                expected_prev = row["record_hash"]
                expected += 1
                self.checked += 1
        if expected <= hi:
            raise Broken(expected, None, f"missing link: no record with seq {expected}")

    def _derived(
        self, seq: int, decision_id: str, summary_text: str, indexed: Mapping[str, str]
    ) -> None:
        """The per-program index must say exactly what the (verified) record says."""
        try:
            summary = json.loads(summary_text)
        except ValueError:
            raise Broken(seq, decision_id, "programs_summary is not JSON") from None
        if not isinstance(summary, dict) or summary == indexed:
            return
        for program in sorted(set(summary) | set(indexed)):
            if summary.get(program) != indexed.get(program):
                raise Broken(
                    seq,
                    decision_id,
                    f"derived row decision_programs ({program}) does not match the record:"
                    f" the index says {indexed.get(program)!r},"
                    f" the record says {summary.get(program)!r}",
                )

    def _programs(self, first: int, last: int) -> dict[int, dict[str, str]]:
        rows = self._conn.execute(
            text(
                "SELECT decision_seq, program, status FROM decision_programs"
                " WHERE decision_seq >= :a AND decision_seq <= :b"
            ),
            {"a": first, "b": last},
        ).all()
        out: dict[int, dict[str, str]] = {}
        for seq, program, status in rows:
            out.setdefault(seq, {})[program] = status
        return out

    def _stored(self, level: int, first: int, last: int) -> dict[int, bytes]:
        rows = self._conn.execute(
            text(
                "SELECT node_index, hash FROM log_nodes"
                " WHERE level = :l AND node_index >= :a AND node_index <= :b"
            ),
            {"l": level, "a": first, "b": last},
        ).all()
        return {int(index): bytes(digest) for index, digest in rows}

    # --- the tree and the checkpoints -----------------------------------------------------------

    def _stored_tree(self, tree: merkle.MemoryTree) -> None:
        """Every stored hash must be the rebuilt tree's, and none may be missing."""
        size = tree.size
        bad: tuple[int, int] | None = None
        count = 0
        after = (-1, -1)
        page = text(
            "SELECT level, node_index, hash FROM log_nodes"
            " WHERE level > :l OR (level = :l AND node_index > :i)"
            " ORDER BY level, node_index LIMIT :n"
        )
        while True:
            rows = self._conn.execute(page, {"l": after[0], "i": after[1], "n": NODE_PAGE}).all()
            if not rows:
                break
            for level, index, digest in rows:
                key = (int(level), int(index))
                count += 1
                try:
                    right = tree.get_node(*key) == bytes(digest)
                except KeyError:
                    right = False  # a node the records do not make
                if not right and (bad is None or _leaf_order(key) < _leaf_order(bad)):
                    bad = key
            after = (int(rows[-1][0]), int(rows[-1][1]))
        if bad is None and count != merkle.stored_hash_count(size):
            bad = self._first_missing(tree)
        if bad is None:
            return
        seq = (bad[1] << bad[0]) + 1
        if seq > size:
            raise Broken(
                seq, None, f"the stored tree has a node beyond the {size} records (seq {seq}…)"
            )
        raise Broken(
            seq,
            self._id_of(seq),
            f"the log's stored tree (level {bad[0]}, index {bad[1]}) does not match the records"
            f" from seq {seq}",
        )

    def _first_missing(self, tree: merkle.MemoryTree) -> tuple[int, int] | None:
        size, level = tree.size, 0
        missing: tuple[int, int] | None = None
        while size >> level:
            count = size >> level
            found = int(
                self._scalar("SELECT count(*) FROM log_nodes WHERE level = :l", l=level) or 0
            )
            if found < count:
                have = self._stored(level, 0, count - 1)
                index = next(i for i in range(count) if i not in have)
                key = (level, index)
                if missing is None or _leaf_order(key) < _leaf_order(missing):
                    missing = key
            level += 1
        return missing

    def _next_checkpoint(self) -> None:
        """Advance to the next stored checkpoint by size (read a page at a time)."""
        if not self._pending:
            self._pending = [
                (int(size), bytes(root), str(note))
                for size, root, note in self._conn.execute(
                    text(
                        "SELECT size, root, note FROM log_checkpoints WHERE size > :a"
                        " ORDER BY size LIMIT :n"
                    ),
                    {"a": self._after, "n": NODE_PAGE},
                ).all()
            ]
            self._pending.reverse()  # popped from the end: smallest first
        self._upcoming = self._pending.pop() if self._pending else None
        if self._upcoming is not None:
            self._after = self._upcoming[0]

    def _passed(self, tree: merkle.MemoryTree) -> None:
        """Every checkpoint the rebuilt tree has reached: signed by the log's key, its row what
        its note says, and its root the rebuilt tree's at its size. The first that is not
        names the records after the last one that was (one root per checkpoint)."""
        while self._upcoming is not None and self._upcoming[0] <= tree.size:
            size, root, note = self._upcoming
            signed_size, signed_root = self._open(note, size)
            if signed_size == size and tree.root(size) != signed_root:
                seq = self._good + 1
                raise Broken(
                    seq,
                    self._id_of(seq),
                    f"fork: the log was rewritten after a checkpoint had signed it -- the"
                    f" records from seq {seq} to {size} no longer give the root that the"
                    f" checkpoint of size {size} signed (the one of size {self._good} still"
                    " matches)",
                )
            if (signed_size, signed_root) != (size, root):
                raise Broken(
                    None,
                    None,
                    f"the checkpoint row of size {size} differs from its signed note:"
                    " the row was altered",
                )
            self._good = size
            self._next_checkpoint()

    def _beyond(self, tree: merkle.MemoryTree) -> int | None:
        """After the walk: checkpoints larger than the log (records removed), or records no
        checkpoint covers. The latest checked checkpoint's size."""
        size = tree.size
        if self._upcoming is not None:
            latest = self._conn.execute(
                text("SELECT size, root, note FROM log_checkpoints ORDER BY size DESC LIMIT 1")
            ).one()
            signed_size, signed_root = self._open(str(latest[2]), int(latest[0]))
            if (signed_size, signed_root) != (int(latest[0]), bytes(latest[1])):
                raise Broken(
                    None,
                    None,
                    f"the checkpoint row of size {latest[0]} differs from its signed note",
                )
            raise Broken(
                size + 1,
                None,
                f"the latest signed checkpoint covers {signed_size} records, only {size} are"
                f" stored: records from seq {size + 1} were removed",
            )
        if not self._good:
            if size:
                raise Broken(1, self._id_of(1), "no signed checkpoint covers the log")
            return None
        if size > self._good:
            seq = self._good + 1
            raise Broken(
                seq,
                self._id_of(seq),
                f"record seq {seq} is not covered by a signed checkpoint (the latest covers"
                f" {self._good}): appended behind the store's back",
            )
        return self._good

    def _open(self, note: str, size: int) -> tuple[int, bytes]:
        assert self._signer is not None
        try:
            return self._signer.open(note)
        except ValueError:
            raise Broken(
                None, None, f"the checkpoint of size {size} is not signed by the log's key"
            ) from None

    # --- plumbing -----------------------------------------------------------------------------

    def _scalar(self, sql: str, **params: Any) -> Any:
        return self._conn.execute(text(sql), params).scalar()

    def _id_of(self, seq: int) -> str | None:
        value = self._scalar("SELECT id FROM decisions WHERE seq = :s", s=seq)
        return None if value is None else str(value)


def _leaf_order(key: tuple[int, int]) -> tuple[int, int]:
    level, index = key
    return (index << level, -level)

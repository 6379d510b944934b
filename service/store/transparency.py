"""The decision log as a transparency log: where the store keeps its tree, and its signer.

Each record is a leaf of an RFC 9162 Merkle tree (:mod:`service.tlog.merkle`): record ``seq`` n
is leaf n - 1, its leaf data the record's ``record_hash`` (:func:`log_leaf_data`). The tree's
stored hashes are rows of ``log_nodes``, written in the transaction that appends the records,
and every append transaction also signs a checkpoint of the new tree (``log_checkpoints``).

The signing key is not the database's: the service loads it from a file outside the data
folder and hands the store a :class:`CheckpointSigner`. An administrator who rewrites rows can
recompute every plain hash and every node, but cannot sign a checkpoint for the result, and
the checkpoints auditors kept no longer match.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.store.errors import LogDamagedError
from service.tlog import merkle, note
from service.tlog.checkpoint import Checkpoint, CheckpointError, open_checkpoint, sign_checkpoint

NodeKey = tuple[int, int]
"""(level, node_index) of a stored hash."""


class CheckpointSigner(Protocol):
    """Signs the checkpoints of the log and opens them again (the store never sees the key)."""

    @property
    def origin(self) -> str:
        """The log's name, the first line of every checkpoint."""
        ...

    def sign(self, size: int, root: bytes) -> str:
        """The signed note of the checkpoint ``(origin, size, root)``."""
        ...

    def open(self, note: str) -> tuple[int, bytes]:
        """``(size, root)`` of a checkpoint whose signature is this signer's; raises
        ``ValueError`` otherwise (another key, another origin, altered text)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """A checkpoint as stored: tree size, root and the signed note."""

    size: int
    root: bytes
    note: str


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162 inclusion proof of leaf ``index`` (record ``seq`` index + 1) in ``tree_size``."""

    seq: int
    decision_id: str
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]


def compact_range(size: int) -> list[NodeKey]:
    """The complete subtrees that make up the first ``size`` leaves, largest first.

    These are all the stored hashes an append after ``size`` leaves, and the root of the
    tree it makes, can need from before it: one per set bit of ``size``.
    """
    return [
        (level, (size >> level) - 1)
        for level in range(size.bit_length() - 1, -1, -1)
        if size >> level & 1
    ]


def needed_nodes(compute: Callable[[merkle.GetNode], object]) -> list[NodeKey]:
    """The stored hashes ``compute`` reads, in order: it is run on placeholder hashes.

    Which hashes a root or a proof reads depends only on the sizes and indices, never on the
    hashes' values, so one database query can fetch them all before the real computation.
    """
    keys: list[NodeKey] = []

    def record(level: int, index: int) -> bytes:
        keys.append((level, index))
        return bytes(merkle.HASH_SIZE)

    compute(record)
    return list(dict.fromkeys(keys))


@functools.lru_cache(maxsize=128)
def select_nodes_sql(count: int, mark: str) -> str:
    """``SELECT level, node_index, hash`` of ``count`` stored hashes named by key."""
    pairs = " OR ".join([f"(level = {mark} AND node_index = {mark})"] * count)
    return f"SELECT level, node_index, hash FROM log_nodes WHERE {pairs}"


def node_params(keys: Sequence[NodeKey]) -> tuple[int, ...]:
    return tuple(value for key in keys for value in key)


def node_lookup(rows: Iterable[Sequence[Any]]) -> Callable[[int, int], bytes]:
    """``get_node`` over the fetched rows; a hash that is not there raises ``KeyError``."""
    found: dict[NodeKey, bytes] = {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}

    def get_node(level: int, index: int) -> bytes:
        return found[level, index]

    return get_node


def checked_lookup(rows: Iterable[Sequence[Any]], wanted: Sequence[NodeKey]) -> merkle.GetNode:
    lookup = node_lookup(rows)
    for level, index in wanted:
        try:
            lookup(level, index)
        except KeyError:
            raise LogDamagedError(
                f"the log's stored hash (level {level}, index {index}) is missing"
            ) from None
    return lookup


def first_mismatch(
    expected: Mapping[NodeKey, bytes], stored: Mapping[NodeKey, bytes]
) -> NodeKey | None:
    """The first (by leaf position, then level) stored hash that differs or is missing."""
    bad = [key for key, value in expected.items() if stored.get(key) != value]
    bad += [key for key in stored if key not in expected]
    if not bad:
        return None
    return min(bad, key=lambda key: (key[1] << key[0], key[0]))


def first_leaf(key: NodeKey) -> int:
    """Index of the first leaf under the stored hash ``key``."""
    level, index = key
    return index << level


class LogKey:
    """The log's signing key as the store uses it: checkpoints of origin = the key's name.

    Built by the service from the key file (never from the database); the store only calls
    :meth:`sign` and :meth:`open`.
    """

    def __init__(self, signer: note.Signer):
        self._signer = signer
        self.verifier = signer.verifier

    @property
    def origin(self) -> str:
        return self._signer.name

    def verifier_text(self) -> str:
        """The public key that auditors are given (Go's verifier key text)."""
        return self.verifier.key_text()

    def sign(self, size: int, root: bytes) -> str:
        return sign_checkpoint(Checkpoint(self.origin, size, root), self._signer)

    def open(self, note_text: str) -> tuple[int, bytes]:
        try:
            checkpoint = open_checkpoint(note_text, self.verifier, origin=self.origin)
        except (note.NoteError, CheckpointError) as error:
            raise ValueError(str(error)) from None
        return checkpoint.size, checkpoint.root

    def __repr__(self) -> str:
        return f"LogKey({self.verifier.name}+{self.verifier.key_id:08x})"

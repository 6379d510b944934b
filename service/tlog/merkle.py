"""The Merkle tree of the decision log: RFC 9162 §2.1 hashing, proofs and their verification.

A tree of ``size`` leaves is kept as its *stored hashes*: the hash of every complete subtree of
``2**level`` leaves, named ``(level, index)`` for the subtree that starts at leaf
``index * 2**level`` (the dense layout of Go's ``golang.org/x/mod/sumdb/tlog``). Appending leaf
``n`` stores ``1 + t`` hashes (t = trailing 1-bits of ``n``); a root of any size or a proof then
needs O(log n) reads, through a ``get_node(level, index)`` callable that the storage supplies.
Nothing here knows where the hashes live.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, so that a proof made by any
other RFC 9162 log checks here, and ours there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

from service.bilingual import BilingualError

HASH_SIZE = 32
# MTH({}) of RFC 9162 §2.1.1: the root of the empty tree.
EMPTY_ROOT = sha256(b"").digest()

# (level, index) -> the hash of the complete subtree of 2**level leaves from index * 2**level.
GetNode = Callable[[int, int], bytes]
StoredHash = tuple[int, int, bytes]


class ProofError(BilingualError):
    """A proof or a root was asked for outside the tree (index or size out of range)."""


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``: the prefix keeps a leaf from passing for a node."""
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return sha256(b"\x01" + left + right).digest()


def root_hash(leaves: Sequence[bytes]) -> bytes:
    """The root of a tree given all its leaf *hashes* (RFC 9162 §2.1.2, the incremental form)."""
    if not leaves:
        return EMPTY_ROOT
    stack: list[bytes] = []
    for i, leaf in enumerate(leaves):
        stack.append(leaf)
        # one merge per trailing 1-bit of i: the stack keeps one root per set bit of i + 1
        while i & 1:
            right = stack.pop()
            stack.append(node_hash(stack.pop(), right))
            i >>= 1
    root = stack.pop()
    while stack:
        root = node_hash(stack.pop(), root)
    return root


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n > 1): RFC 9162's ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def _range_hash(lo: int, hi: int, get_node: GetNode) -> bytes:
    """MTH(D[lo:hi]) from stored hashes, for ``lo`` a multiple of a power of two >= hi - lo.

    Such a range is the complete subtrees its size's binary digits give, left to right (the
    largest first); the RFC's recursion only ever asks for ranges of that kind.
    """
    size = hi - lo
    if size <= 0:
        return EMPTY_ROOT
    parts = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            parts.append(get_node(level, lo >> level))
            lo += 1 << level
    root = parts.pop()
    while parts:
        root = node_hash(parts.pop(), root)
    return root


def tree_hash(size: int, get_node: GetNode) -> bytes:
    """The root of the first ``size`` leaves, from at most log2(size) + 1 stored hashes."""
    if size < 0:
        raise ProofError(f"树的大小不能为负数：{size}", f"a tree size cannot be negative: {size}")
    return _range_hash(0, size, get_node)


def inclusion_proof(index: int, size: int, get_node: GetNode) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]): the leaf's sibling first, the root's child last."""
    if not 0 <= index < size:
        raise ProofError(
            f"叶子序号 {index} 不在大小为 {size} 的树中（应满足 0 ≤ 序号 < 大小）",
            f"leaf index {index} is not in a tree of size {size} (0 <= index < size)",
        )
    proof = []
    lo, hi = 0, size
    # walk down from the root; the sibling of each step's half is one (or, for the right part of
    # an incomplete tree, a few) stored hashes
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            proof.append(_range_hash(lo + k, hi, get_node))
            hi = lo + k
        else:
            proof.append(_range_hash(lo, lo + k, get_node))
            lo += k
    proof.reverse()
    return proof


def consistency_proof(first: int, second: int, get_node: GetNode) -> list[bytes]:
    """RFC 9162 PROOF(first, D[0:second]); empty when first is 0 or equals second."""
    if not 0 <= first <= second:
        raise ProofError(
            f"一致性证明要求 0 ≤ 旧大小 ≤ 新大小，收到 {first} 和 {second}",
            f"a consistency proof needs 0 <= first <= second, got {first} and {second}",
        )
    if first in (0, second):
        return []
    proof = []
    m, lo, hi = first, 0, second
    whole = True  # SUBPROOF's b: the old tree is still a left edge of the current subtree
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(_range_hash(lo + k, hi, get_node))
            hi = lo + k
        else:
            proof.append(_range_hash(lo, lo + k, get_node))
            m -= k
            lo += k
            whole = False
    if not whole:
        proof.append(_range_hash(lo, hi, get_node))
    proof.reverse()
    return proof


def _well_formed(hashes: Iterable[bytes]) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` put the leaf hash at ``index`` of the tree ``root``?"""
    if not 0 <= index < size or not _well_formed([leaf, root, *proof]):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            # the right edge of an incomplete tree: skip the levels where this node has no sibling
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree ``second_root`` an extension of the tree ``first_root``?

    Outside the RFC's ``0 < first < second``: equal sizes need equal roots and no proof; the
    empty tree (whose root must be ``EMPTY_ROOT``) is a prefix of every tree, with no proof.
    """
    if not 0 <= first <= second or not _well_formed([first_root, second_root, *proof]):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof and first_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


def stored_hashes_for_append(index: int, leaf: bytes, get_node: GetNode) -> list[StoredHash]:
    """The stored hashes that leaf ``index`` (its hash ``leaf``) adds: ``(level, index, hash)``.

    The leaf itself, then one parent per trailing 1-bit of ``index``, each the node hash of the
    left sibling (read through ``get_node``, already stored) and the hash just made (Go's
    ``tlog.StoredHashes``).
    """
    if index < 0:
        raise ProofError(
            f"叶子序号不能为负数：{index}", f"a leaf index cannot be negative: {index}"
        )
    hashes = [(0, index, leaf)]
    level, n, h = 0, index, leaf
    while n & 1:
        h = node_hash(get_node(level, n - 1), h)
        level += 1
        n >>= 1
        hashes.append((level, n, h))
    return hashes


def stored_hash_index(level: int, index: int) -> int:
    """One integer per stored hash, in the order appends store them (Go's StoredHashIndex).

    A storage that keeps hashes in one ``(id BIGINT PRIMARY KEY, hash)`` table uses this as id:
    the hashes of each append then take the next ids, with no gap.
    """
    # the subtree is completed by leaf (index + 1) * 2**level - 1, after that leaf's lower parents
    n = ((index + 1) << level) - 1
    return stored_hash_count(n) + level


def stored_hash_count(size: int) -> int:
    """How many hashes a tree of ``size`` leaves stores: 2 * size - popcount(size)."""
    return 2 * size - size.bit_count()


class Appender:
    """Appends leaves to a tree whose stored hashes ``get_node`` reads; keeps what it adds.

    A store appends a commit batch through one ``Appender`` and writes the hashes each
    ``append`` returns; until they are written, later appends and ``root()`` read them here.
    """

    def __init__(self, size: int, get_node: GetNode):
        self._size = size
        self._read = get_node
        self._added: dict[tuple[int, int], bytes] = {}

    @property
    def size(self) -> int:
        return self._size

    def get_node(self, level: int, index: int) -> bytes:
        added = self._added.get((level, index))
        return added if added is not None else self._read(level, index)

    def append(self, leaf: bytes) -> list[StoredHash]:
        """Add the leaf hash ``leaf`` at index ``size``; the stored hashes to persist."""
        hashes = stored_hashes_for_append(self._size, leaf, self.get_node)
        for level, index, h in hashes:
            self._added[level, index] = h
        self._size += 1
        return hashes

    def root(self) -> bytes:
        return tree_hash(self._size, self.get_node)


class MemoryTree:
    """Every stored hash in memory, one ``bytearray`` per level (32 bytes a hash).

    The offline check rebuilds a log's tree in one of these; tests and benchmarks use it as
    the storage behind ``get_node``. Asking for a subtree that is not complete raises
    ``KeyError``, so proofs that read anything but stored hashes fail loudly.
    """

    def __init__(self) -> None:
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0

    @classmethod
    def of(cls, leaves: Iterable[bytes]) -> MemoryTree:
        """The tree of these leaf hashes, built a level at a time (a million in seconds)."""
        row = bytearray()
        for leaf in leaves:
            if len(leaf) != HASH_SIZE:
                raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
            row += leaf
        return cls.of_concatenated(row)

    @classmethod
    def of_concatenated(cls, leaves: bytes | bytearray) -> MemoryTree:
        """The tree of the leaf hashes laid end to end in ``leaves`` (32 bytes each)."""
        if len(leaves) % HASH_SIZE:
            raise ValueError(f"leaf hashes come in {HASH_SIZE} bytes, not {len(leaves)} in all")
        tree = cls()
        row = bytearray(leaves)
        tree._size = len(row) // HASH_SIZE
        tree._levels = [row]
        step = 2 * HASH_SIZE
        while len(row) >= step:
            view = memoryview(row)
            row = bytearray().join(
                sha256(b"\x01" + view[i : i + step]).digest()
                for i in range(0, len(row) - step + 1, step)
            )
            tree._levels.append(row)
        return tree

    @property
    def size(self) -> int:
        return self._size

    def get_node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        if level < 0 or index < 0 or level >= len(self._levels):
            raise KeyError((level, index))
        row = self._levels[level]
        if start + HASH_SIZE > len(row):
            raise KeyError((level, index))
        return bytes(row[start : start + HASH_SIZE])

    def append(self, leaf: bytes) -> list[StoredHash]:
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf)}")
        hashes = stored_hashes_for_append(self._size, leaf, self.get_node)
        for level, _, h in hashes:
            if level == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level] += h
        self._size += 1
        return hashes

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (all of them by default)."""
        size = self._size if size is None else size
        if size > self._size:
            raise ProofError(
                f"树只有 {self._size} 个叶子，没有大小为 {size} 的根",
                f"the tree has {self._size} leaves, so no root of size {size}",
            )
        return tree_hash(size, self.get_node)

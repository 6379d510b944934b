"""The Merkle tree against RFC 9162 §2.1 as the RFC writes it (recursive MTH, PATH, PROOF), the
published test vectors of transparency-dev/merkle, and the stored-hash layout proofs read from."""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.bilingual import BilingualError
from service.tlog.merkle import (
    EMPTY_ROOT,
    Appender,
    MemoryTree,
    ProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    stored_hash_count,
    stored_hash_index,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

# ---- RFC 9162 §2.1, written as the RFC states it (its own hashing; data in, not hashes) ----


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return _h(b"")
    if len(d) == 1:
        return _h(b"\x00" + d[0])
    k = _k(len(d))
    return _h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


def proof(m: int, d: list[bytes]) -> list[bytes]:
    return subproof(m, d, True)


# ---- vectors: transparency-dev/merkle testonly/constants.go and testdata/*/happy-path.json ----

D = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657")]
D.append(bytes.fromhex("606162636465666768696a6b6c6d6e6f"))
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _b64(*items: str) -> list[bytes]:
    return [base64.b64decode(item) for item in items]


INCLUSION = [  # (index, size, proof)
    (0, 8, _b64("lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
                "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=")),
    (5, 8, _b64("vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
                "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
                "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=")),
    (2, 3, _b64("+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU=")),
]  # fmt: skip
CONSISTENCY = [  # (first, second, proof)
    (6, 8, _b64("DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
                "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
                "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=")),
    (6, 7, _b64("DrxdNDf74tsVi58Sah0RjjCBgQMdCpSfje3t68VY72o=",
                "sIaT7C5yFZcTBkHoIR5+7cy0wmQTlj7ubB4u0W/7Gl8=",
                "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc=")),
    (2, 5, _b64("Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=")),
]  # fmt: skip

VECTOR_TREE = MemoryTree.of(leaf_hash(d) for d in D)


@pytest.mark.parametrize("n", range(9))
def test_roots_match_the_published_vectors(n: int) -> None:
    expected = bytes.fromhex(ROOTS[n])
    assert mth(D[:n]) == expected  # the reference itself is right
    assert root_hash([leaf_hash(d) for d in D[:n]]) == expected
    assert VECTOR_TREE.root(n) == expected
    assert tree_hash(n, VECTOR_TREE.get_node) == expected


def test_the_empty_root_is_the_hash_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert MemoryTree().root() == EMPTY_ROOT


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, expected: list[bytes]
) -> None:
    assert path(index, D[:size]) == expected
    assert inclusion_proof(index, size, VECTOR_TREE.get_node) == expected
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(leaf_hash(D[index]), index, size, expected, root)


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(
    first: int, second: int, expected: list[bytes]
) -> None:
    assert proof(first, D[:second]) == expected
    assert consistency_proof(first, second, VECTOR_TREE.get_node) == expected
    roots = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    assert verify_consistency(first, second, *roots, expected)


def test_the_rfc_example_of_seven_leaves() -> None:
    """RFC 9162 §2.1.5: the proofs named by their nodes, a..f and j the leaves."""
    a, b, c, d, e, f, j = (leaf_hash(x) for x in D[:7])
    g, h, i = node_hash(a, b), node_hash(c, d), node_hash(e, f)
    k, l = node_hash(g, h), node_hash(i, j)  # noqa: E741 (the RFC's name)
    tree = MemoryTree.of([a, b, c, d, e, f, j])
    assert [inclusion_proof(m, 7, tree.get_node) for m in (0, 3, 4, 6)] == [
        [b, h, l],
        [c, g, l],
        [f, j, k],
        [i, k],
    ]
    assert consistency_proof(3, 7, tree.get_node) == [c, d, g, l]
    assert consistency_proof(4, 7, tree.get_node) == [l]
    assert consistency_proof(6, 7, tree.get_node) == [i, j, k]


# ---- properties against the reference ----

leaf_data = st.lists(st.binary(max_size=6), min_size=1, max_size=70)


def _flip(items: list[bytes], which: int, bit: int) -> list[bytes]:
    changed = list(items)
    item = bytearray(changed[which % len(changed)])
    item[bit % len(item)] ^= 1 << (bit % 8)
    changed[which % len(changed)] = bytes(item)
    return changed


@settings(max_examples=150, deadline=None)
@given(data=leaf_data)
def test_roots_of_every_prefix_are_the_rfc_root(data: list[bytes]) -> None:
    tree = MemoryTree.of(leaf_hash(x) for x in data)
    for n in range(len(data) + 1):
        assert tree.root(n) == mth(data[:n]) == root_hash([leaf_hash(x) for x in data[:n]])


@settings(max_examples=200, deadline=None)
@given(data=leaf_data, pick=st.data())
def test_inclusion_proofs_are_the_rfc_path_and_verify(
    data: list[bytes], pick: st.DataObject
) -> None:
    tree = MemoryTree.of(leaf_hash(x) for x in data)
    size = pick.draw(st.integers(1, len(data)), label="size")
    index = pick.draw(st.integers(0, size - 1), label="index")
    made = inclusion_proof(index, size, tree.get_node)
    assert made == path(index, data[:size])
    root = mth(data[:size])
    leaf = leaf_hash(data[index])
    assert verify_inclusion(leaf, index, size, made, root)
    # a changed hash anywhere, another leaf, a shorter or longer proof: refused
    if made:
        which, bit = pick.draw(st.integers(0, 99)), pick.draw(st.integers(0, 255))
        assert not verify_inclusion(leaf, index, size, _flip(made, which, bit), root)
        assert not verify_inclusion(leaf, index, size, made[:-1], root)
    assert not verify_inclusion(leaf, index, size, [*made, root], root)
    assert not verify_inclusion(_flip([leaf], 0, 3)[0], index, size, made, root)
    assert not verify_inclusion(leaf, index, size, made, _flip([root], 0, 7)[0])
    assert not verify_inclusion(leaf, size, size, made, root)
    if data[index] not in data[:index] + data[index + 1 : size]:
        other = pick.draw(st.integers(0, size - 1), label="other index")
        if other != index:
            assert not verify_inclusion(leaf, other, size, made, root)


@settings(max_examples=200, deadline=None)
@given(data=leaf_data, pick=st.data())
def test_consistency_proofs_are_the_rfc_proof_and_verify(
    data: list[bytes], pick: st.DataObject
) -> None:
    tree = MemoryTree.of(leaf_hash(x) for x in data)
    second = pick.draw(st.integers(1, len(data)), label="second")
    first = pick.draw(st.integers(0, second), label="first")
    made = consistency_proof(first, second, tree.get_node)
    assert made == ([] if first in (0, second) else proof(first, data[:second]))
    first_root, second_root = mth(data[:first]), mth(data[:second])
    assert verify_consistency(first, second, first_root, second_root, made)
    if made:
        which, bit = pick.draw(st.integers(0, 99)), pick.draw(st.integers(0, 255))
        assert not verify_consistency(
            first, second, first_root, second_root, _flip(made, which, bit)
        )
        assert not verify_consistency(first, second, first_root, second_root, made[:-1])
    if first > 0:
        # another old root (a rewritten history) or another new root: refused
        assert not verify_consistency(
            first, second, _flip([first_root], 0, 5)[0], second_root, made
        )
        assert not verify_consistency(
            first, second, first_root, _flip([second_root], 0, 9)[0], made
        )
        assert (
            not verify_consistency(second, first, second_root, first_root, made) or first == second
        )


@settings(max_examples=100, deadline=None)
@given(old=leaf_data, new=st.lists(st.binary(max_size=6), max_size=40), at=st.integers(0, 69))
def test_a_rewritten_leaf_is_never_consistent(old: list[bytes], new: list[bytes], at: int) -> None:
    """A tree whose first leaves differ from the old tree's has no proof that extends it."""
    first = len(old)
    rewritten = list(old)
    rewritten[at % first] += b"!"
    rewritten += new
    tree = MemoryTree.of(leaf_hash(x) for x in rewritten)
    made = consistency_proof(first, len(rewritten), tree.get_node)
    assert not verify_consistency(first, len(rewritten), mth(old), tree.root(), made)


def test_every_size_up_to_70_against_the_reference() -> None:
    """Exhaustive on small trees: every index, every pair of sizes (non powers of two too)."""
    data = [i.to_bytes(2, "big") for i in range(70)]
    tree = MemoryTree.of(leaf_hash(x) for x in data)
    for size in range(1, 71):
        root = mth(data[:size])
        for index in range(size):
            made = inclusion_proof(index, size, tree.get_node)
            assert made == path(index, data[:size])
            assert verify_inclusion(leaf_hash(data[index]), index, size, made, root)
        for first in range(1, size):
            made = consistency_proof(first, size, tree.get_node)
            assert made == proof(first, data[:size])
            assert verify_consistency(first, size, mth(data[:first]), root, made)


def test_edge_sizes_outside_the_rfc() -> None:
    root = VECTOR_TREE.root()
    assert verify_consistency(0, 8, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 8, root, root, [])  # a size-0 tree has the empty root
    assert verify_consistency(8, 8, root, root, [])
    assert not verify_consistency(8, 8, root, VECTOR_TREE.root(7), [])
    assert not verify_consistency(5, 8, VECTOR_TREE.root(5), root, [])
    assert not verify_inclusion(leaf_hash(D[0]), 0, 0, [], EMPTY_ROOT)
    assert not verify_inclusion(leaf_hash(D[0]), -1, 8, [], root)
    assert not verify_inclusion(leaf_hash(D[0])[:31], 0, 1, [], leaf_hash(D[0])[:31])


@pytest.mark.parametrize(
    ("make", "arguments"),
    [
        (inclusion_proof, (8, 8)),
        (inclusion_proof, (-1, 8)),
        (inclusion_proof, (0, 0)),
        (consistency_proof, (9, 8)),
        (consistency_proof, (-1, 8)),
        (tree_hash, (-1,)),
    ],
)
def test_requests_outside_the_tree_are_refused_in_both_languages(
    make: Callable[..., object], arguments: tuple[int, ...]
) -> None:
    with pytest.raises(ProofError) as refused:
        make(*arguments, VECTOR_TREE.get_node)
    assert isinstance(refused.value, BilingualError)
    assert refused.value.text.zh != refused.value.text.en
    assert str(arguments[0]) in refused.value.text.en
    assert str(arguments[0]) in refused.value.text.zh


def test_memory_tree_refuses_a_root_beyond_its_size() -> None:
    with pytest.raises(ProofError):
        VECTOR_TREE.root(9)


# ---- stored hashes: what the store keeps and what proofs read ----


def test_stored_hashes_are_the_complete_subtrees_and_nothing_else() -> None:
    data = [i.to_bytes(2, "big") for i in range(37)]
    tree = MemoryTree.of(leaf_hash(x) for x in data)
    for level in range(7):
        width = 1 << level
        for index in range(40):
            start, end = index * width, (index + 1) * width
            if end <= len(data):
                assert tree.get_node(level, index) == mth(data[start:end])
            else:
                with pytest.raises(KeyError):
                    tree.get_node(level, index)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 31, 32, 33, 100])
def test_a_tree_built_at_once_stores_what_appends_store(n: int) -> None:
    leaves = [leaf_hash(i.to_bytes(2, "big")) for i in range(n)]
    appended = MemoryTree()
    for leaf in leaves:
        appended.append(leaf)
    built = MemoryTree.of(leaves)
    assert built.size == appended.size == n
    for level in range(8):
        for index in range(n >> level):
            assert built.get_node(level, index) == appended.get_node(level, index)
        with pytest.raises(KeyError):
            built.get_node(level, n >> level)


def test_stored_hash_index_numbers_appends_without_gap() -> None:
    """Go's StoredHashIndex: the hashes of append n take the ids that follow those before it."""
    tree = MemoryTree()
    seen = []
    for n in range(300):
        added = tree.append(leaf_hash(n.to_bytes(2, "big")))
        ids = [stored_hash_index(level, index) for level, index, _ in added]
        assert ids == list(range(stored_hash_count(n), stored_hash_count(n + 1)))
        seen += ids
    assert seen == list(range(stored_hash_count(300)))
    # the values Go's tlog gives (StoredHashIndex(0, 0..4) and the first parents)
    assert [stored_hash_index(0, n) for n in range(5)] == [0, 1, 3, 4, 7]
    assert [stored_hash_index(1, 0), stored_hash_index(2, 0), stored_hash_index(1, 1)] == [2, 6, 5]


def test_an_appender_over_stored_hashes_adds_what_a_whole_rebuild_has() -> None:
    data = [i.to_bytes(2, "big") for i in range(200)]
    whole = MemoryTree.of(leaf_hash(x) for x in data)
    for start in (0, 1, 63, 64, 65, 127, 150):
        stored = MemoryTree.of(leaf_hash(x) for x in data[:start])
        appender = Appender(start, stored.get_node)
        batch = [appender.append(leaf_hash(x)) for x in data[start:]]
        assert appender.size == 200
        assert appender.root() == whole.root() == mth(data)
        for added in batch:
            for level, index, h in added:
                assert h == whole.get_node(level, index)
        # the batch is everything the whole tree has beyond what was stored
        assert sum(map(len, batch)) == stored_hash_count(200) - stored_hash_count(start)


class _Counted:
    def __init__(self, tree: MemoryTree):
        self.tree, self.reads = tree, 0

    def get_node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.tree.get_node(level, index)


BIG = MemoryTree.of(leaf_hash(i.to_bytes(4, "big")) for i in range(5000))


@settings(max_examples=200, deadline=None)
@given(size=st.integers(1, 5000), pick=st.data())
def test_a_proof_reads_a_logarithmic_number_of_stored_hashes(
    size: int, pick: st.DataObject
) -> None:
    bound = 2 * math.ceil(math.log2(size + 1)) + 2
    index = pick.draw(st.integers(0, size - 1))
    counted = _Counted(BIG)
    made = inclusion_proof(index, size, counted.get_node)
    assert counted.reads <= bound
    assert verify_inclusion(BIG.get_node(0, index), index, size, made, BIG.root(size))
    first = pick.draw(st.integers(0, size))
    counted = _Counted(BIG)
    made = consistency_proof(first, size, counted.get_node)
    assert counted.reads <= bound
    assert verify_consistency(first, size, BIG.root(first), BIG.root(size), made)

"""The RFC 9162 tree against a naive, literally recursive one, and its proofs
against their verifiers (generated and verified by separate algorithms)."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from countersign.domain import merkle


def naive_root(data: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 §2.1.1 writes it, over the entries' bytes."""
    if not data:
        return hashlib.sha256(b"").digest()
    if len(data) == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < len(data):
        k *= 2
    return hashlib.sha256(b"\x01" + naive_root(data[:k]) + naive_root(data[k:])).digest()


entries = st.lists(st.binary(max_size=8), min_size=1, max_size=40, unique=True)


@settings(max_examples=60, deadline=None)
@given(entries)
def test_root_is_the_rfc_tree_head(data):
    assert merkle.root([merkle.leaf_hash(d) for d in data]) == naive_root(data)


@settings(max_examples=60, deadline=None)
@given(entries, st.data())
def test_a_frontier_grown_in_steps_gives_the_same_root(data, draw):
    leaves = [merkle.leaf_hash(d) for d in data]
    cut = draw.draw(st.integers(0, len(leaves)))
    frontier = merkle.Frontier().extend(leaves[:cut])
    grown = frontier.copy().extend(leaves[cut:])
    assert frontier.root() == naive_root(data[:cut]) and frontier.size == cut
    assert grown.root() == naive_root(data) and grown.size == len(data)


def test_known_shape_of_three_leaves():
    a, b, c = (merkle.leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert merkle.root([a, b, c]) == merkle.node_hash(merkle.node_hash(a, b), c)
    assert merkle.root([]) == hashlib.sha256(b"").digest()


@settings(max_examples=60, deadline=None)
@given(entries, st.data())
def test_every_inclusion_proof_verifies_and_only_for_its_leaf(data, draw):
    leaves = [merkle.leaf_hash(d) for d in data]
    size = draw.draw(st.integers(1, len(leaves)))
    index = draw.draw(st.integers(0, size - 1))
    head = naive_root(data[:size])
    proof = merkle.inclusion_proof(leaves, index, size)
    assert merkle.verify_inclusion(leaves[index], index, size, proof, head)
    other = merkle.leaf_hash(data[index] + b"!")
    assert not merkle.verify_inclusion(other, index, size, proof, head)
    if size > 1:
        assert not merkle.verify_inclusion(leaves[index], (index + 1) % size, size, proof, head)
        assert not merkle.verify_inclusion(leaves[index], index, size, proof[:-1], head)
        assert not merkle.verify_inclusion(leaves[index], index, size, proof + [head], head)


@settings(max_examples=60, deadline=None)
@given(entries, st.data())
def test_every_consistency_proof_verifies_and_a_changed_prefix_does_not(data, draw):
    leaves = [merkle.leaf_hash(d) for d in data]
    new = draw.draw(st.integers(1, len(leaves)))
    old = draw.draw(st.integers(1, new))
    old_root, new_root = naive_root(data[:old]), naive_root(data[:new])
    proof = merkle.consistency_proof(leaves, old, new)
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)

    # History rewritten inside the old tree: no proof from the new data fits the old root.
    changed = draw.draw(st.integers(0, old - 1))
    rewritten = list(data)
    rewritten[changed] = data[changed] + b"!"
    rewritten_leaves = [merkle.leaf_hash(d) for d in rewritten]
    forged = merkle.consistency_proof(rewritten_leaves, old, new)
    assert not merkle.verify_consistency(old, new, old_root, naive_root(rewritten[:new]), forged)
    if new > old:
        assert not merkle.verify_consistency(old, new, old_root, new_root, proof[1:])
        assert not merkle.verify_consistency(old, new, old_root, merkle.leaf_hash(b"x"), proof)


@settings(max_examples=40, deadline=None)
@given(entries, st.data())
def test_a_dropped_entry_breaks_consistency(data, draw):
    if len(data) < 2:
        return
    dropped = draw.draw(st.integers(0, len(data) - 2))
    old = draw.draw(st.integers(dropped + 1, len(data)))
    kept = data[:dropped] + data[dropped + 1:] + [b"new"]
    kept_leaves = [merkle.leaf_hash(d) for d in kept]
    proof = merkle.consistency_proof(kept_leaves, old, len(kept))
    if data[:old] != kept[:old]:
        assert not merkle.verify_consistency(old, len(kept), naive_root(data[:old]), naive_root(kept), proof)


def test_proofs_outside_the_tree_are_refused():
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(5)]
    for call in (lambda: merkle.inclusion_proof(leaves, 5), lambda: merkle.consistency_proof(leaves, 0, 3),
                 lambda: merkle.consistency_proof(leaves, 4, 6)):
        try:
            call()
        except merkle.ProofError:
            continue
        raise AssertionError("a proof outside the tree was given")
    assert not merkle.verify_inclusion(leaves[0], 5, 5, [], merkle.root(leaves))
    assert not merkle.verify_consistency(3, 2, merkle.root(leaves[:3]), merkle.root(leaves[:2]), [leaves[0]])

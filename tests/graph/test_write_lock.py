"""A write whose change depends on the graph (a SPARQL Update, a Graph Store PUT) is computed and
validated outside the writers' lock, and applied under it only if the graph did not move
meanwhile; overtaken again and again, it is computed under the lock at last, with the tighter
time bound the caller gives it. On a real store, with the real gate."""

from __future__ import annotations

from collections.abc import Callable

import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import VersionConflict
from ijkg.graph.curation.changes import Changes
from ijkg.graph.curation.gate import Gate
from ijkg.graph.store.base import Delta
from tests.conftest import SyncStore

GRAPH = ox.NamedNode("https://w3id.org/ijkg/graph/lock-test")
P = ox.NamedNode("https://example.org/p")


def quad(name: str) -> ox.Quad:
    return ox.Quad(ox.NamedNode(f"https://example.org/{name}"), P, ox.Literal(name), GRAPH)


def no_check(_delta: Delta) -> None:
    return None


def test_the_effect_is_computed_outside_the_writers_lock(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    gate = Gate()
    changes = Changes(store.store, gate, max_quads=100, default_graph=GRAPH.value)
    held: list[bool] = []

    async def effect(under_lock: bool) -> tuple[Delta, int]:
        held.append(gate.lock.locked())
        return Delta(adds=(quad("a"),)), await store.store.version()

    change, commit, report, _delta = store.run(
        changes.write_computed, effect, check=no_check, who="t", via="update", title="t"
    )
    assert report.conforms and commit.version_after == commit.version_before + 1
    assert held == [False]  # another writer could commit while this one was being computed
    assert change.merge is not None and change.merge.version_after == commit.version_after


def test_an_overtaken_effect_is_computed_again_and_at_last_under_the_lock(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    gate = Gate()
    changes = Changes(store.store, gate, max_quads=100, default_graph=GRAPH.value)
    calls: list[tuple[bool, bool]] = []

    async def effect(under_lock: bool) -> tuple[Delta, int]:
        calls.append((under_lock, gate.lock.locked()))
        version = await store.store.version()
        if not under_lock:
            # another writer lands between this computation and the lock
            await store.store.commit(Delta(adds=(quad(f"other-{len(calls)}"),)))
        return Delta(adds=(quad("mine"),)), version

    _change, commit, _report, _delta = store.run(
        changes.write_computed, effect, check=no_check, who="t", via="update", title="t"
    )
    assert calls == [(False, False)] * 3 + [(True, True)]
    found = store.run(store.store.match, [(None, P, None, GRAPH)])
    assert {q.object.value for q in found} == {"mine", "other-1", "other-2", "other-3"}
    assert commit.version_after == store.run(store.store.version)


def test_a_pinned_version_that_moved_is_a_conflict_not_a_retry(
    open_any_store: Callable[..., SyncStore],
) -> None:
    store = open_any_store()
    gate = Gate()
    changes = Changes(store.store, gate, max_quads=100, default_graph=GRAPH.value)
    pinned = store.run(store.store.version)
    calls: list[bool] = []

    async def effect(under_lock: bool) -> tuple[Delta, int]:
        calls.append(under_lock)
        version = await store.store.version()
        await store.store.commit(Delta(adds=(quad("other"),)))
        return Delta(adds=(quad("mine"),)), version

    with pytest.raises(VersionConflict):
        store.run(
            changes.write_computed,
            effect,
            check=no_check,
            who="t",
            via="update",
            title="t",
            expected_version=pinned,
        )
    assert calls == [False]
    found = store.run(store.store.match, [(None, P, None, GRAPH)])
    assert {q.object.value for q in found} == {"other"}

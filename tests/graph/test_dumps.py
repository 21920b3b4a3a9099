"""Dumps of the graph at a version, and patches as text, on real stores: the same bytes every
time, unchanged by later commits and by a restart, the same whichever labels blank nodes have, and
every patch taking the graph exactly from one version to the next."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox
import pytest
from anyio.from_thread import BlockingPortal

from ijkg.graph.core.bundle import bundle_quads
from ijkg.graph.core.errors import BadRequest, ResultTooLarge, VersionNotFound
from ijkg.graph.core.namespaces import GENID
from ijkg.graph.core.settings import Settings
from ijkg.graph.io.dump import canonical_nquads, dump, version_quads
from ijkg.graph.io.feed import ChangeFeed
from ijkg.graph.io.patches import patch_json, rdf_patch, read_patch_json
from ijkg.graph.store import open_store
from ijkg.graph.store.base import Delta, QueryLimits
from tests.conftest import SyncStore, store_settings
from tests.oxigraph_server import start_oxigraph

G = ox.NamedNode("https://example.org/dumps/g")
P = ox.NamedNode("https://example.org/dumps/p")
Opener = Callable[..., SyncStore]


def thing(i: int) -> ox.NamedNode:
    return ox.NamedNode(f"https://example.org/dumps/s{i}")


def with_blank(i: int, label: str) -> tuple[ox.Quad, ...]:
    """A thing with a blank node (as an RDF list or a qualified value has)."""
    node = ox.BlankNode(label)
    return (
        ox.Quad(thing(i), P, node, G),
        ox.Quad(node, P, ox.Literal(f"value {i}"), G),
    )


def commit(
    store: SyncStore, adds: tuple[ox.Quad, ...] = (), removes: tuple[ox.Quad, ...] = ()
) -> int:
    done = store.run(store.store.commit, Delta(removes=removes, adds=adds), meta={"who": "tester"})
    return done.version_after


def dump_of(store: SyncStore, version: int) -> bytes:
    return store.run(dump, store.store, version).gzipped


@pytest.fixture
def store(open_any_store: Opener) -> SyncStore:
    return open_any_store()


def test_a_dump_is_the_same_bytes_every_time_and_after_later_commits(store: SyncStore) -> None:
    v1 = commit(store, with_blank(1, "a") + with_blank(2, "b"))
    first = dump_of(store, v1)
    assert dump_of(store, v1) == first
    commit(store, with_blank(3, "c"), removes=with_blank(1, "a"))
    commit(store, (), removes=with_blank(2, "b"))
    assert dump_of(store, v1) == first
    text = gzip.decompress(first)
    lines = text.splitlines(keepends=True)
    assert lines == sorted(lines) and len(lines) == 4
    assert b"_:c14n" in text  # canonical labels, not the store's own
    assert first[4:8] == b"\0\0\0\0" and not first[3] & 0x08  # no time, no file name


def test_a_dump_names_its_digests_and_counts(store: SyncStore) -> None:
    v1 = commit(store, with_blank(1, "a"))
    made = store.run(dump, store.store, v1)
    assert made.quads == 2
    assert made.gzip_sha256 == hashlib.sha256(made.gzipped).hexdigest()
    assert made.nquads_sha256 == hashlib.sha256(gzip.decompress(made.gzipped)).hexdigest()
    assert made.filename == f"ijkg-version-{v1}.nq.gz"


def test_the_same_data_under_other_labels_dumps_the_same(open_any_store: Opener) -> None:
    one, two = open_any_store(), open_any_store()
    v_one = commit(one, with_blank(1, "a") + with_blank(2, "b"))
    commit(two, with_blank(2, "zz9"))
    v_two = commit(two, with_blank(1, "q1"))
    assert v_one != v_two
    assert store_digest(one, v_one) == store_digest(two, v_two)


def store_digest(store: SyncStore, version: int) -> str:
    return store.run(dump, store.store, version).nquads_sha256


def test_skolem_iris_dump_as_the_blank_nodes_they_stand_for() -> None:
    blank = with_blank(1, "x")
    skolem = ox.NamedNode(GENID + "x17")
    skolemised = tuple(
        ox.Quad(
            skolem if isinstance(q.subject, ox.BlankNode) else q.subject,
            q.predicate,
            skolem if isinstance(q.object, ox.BlankNode) else q.object,
            q.graph_name,
        )
        for q in blank
    )
    assert canonical_nquads(list(skolemised)) == canonical_nquads(list(blank))


def test_a_dump_leaves_out_the_union_copy(store: SyncStore) -> None:
    version = commit(store, with_blank(1, "a"))
    found = store.run(version_quads, store.store, version, None)
    assert all(q.graph_name == G for q in found)
    assert len(found) == 2


def test_a_dump_obeys_the_row_cap_of_any_query(store: SyncStore) -> None:
    version = commit(store, tuple(ox.Quad(thing(i), P, ox.Literal("x"), G) for i in range(20)))
    limits = QueryLimits(timeout_s=10, memory_mb=512, max_rows=5, max_bytes=1 << 20)
    with pytest.raises(ResultTooLarge):
        store.run(dump, store.store, version, limits)


def test_a_client_s_dump_too_large_for_one_answer_names_the_way_out(
    open_any_store: Opener,
) -> None:
    store = open_any_store(max_result_rows=5)
    version = commit(store, tuple(ox.Quad(thing(i), P, ox.Literal("x"), G) for i in range(20)))
    feed = ChangeFeed(store.store)
    with pytest.raises(ResultTooLarge, match=f"ijkg export --version {version}"):
        store.run(feed.dump, version)
    assert store.run(lambda: feed.dump(version, operator=True)).quads == 20


def test_a_version_there_is_not_is_named_with_the_range(store: SyncStore) -> None:
    head = commit(store, with_blank(1, "a"))
    feed = ChangeFeed(store.store)
    for wrong in (-1, head + 1):
        with pytest.raises(VersionNotFound, match=f"versions 0 to {head} can be read"):
            store.run(feed.dump, wrong)
    with pytest.raises(VersionNotFound, match=f"versions 1 to {head} have one"):
        store.run(feed.patch, 0)


def test_a_malformed_version_is_a_bad_request() -> None:
    from ijkg.graph.core.namespaces import parse_version

    for text in ("-1", "1.5", "one", "", "٣", "9" * 40):
        with pytest.raises(BadRequest):
            parse_version(text)


def test_each_patch_takes_the_graph_from_one_version_to_the_next(store: SyncStore) -> None:
    commit(store, with_blank(1, "a") + with_blank(2, "b"))
    commit(store, with_blank(3, "c"), removes=with_blank(1, "a"))
    head = commit(
        store, (ox.Quad(thing(4), P, ox.Literal("plain"), G),), removes=with_blank(2, "b")
    )
    feed = ChangeFeed(store.store)
    for version in range(1, head + 1):
        before = set(store.run(version_quads, store.store, version - 1, None))
        found = store.run(feed.patch, version)
        number, removes, adds = read_patch_json(patch_json(found))
        assert number == version
        after = (before - set(removes)) | set(adds)
        assert after == set(store.run(version_quads, store.store, version, None))
        text = rdf_patch(found).decode().splitlines()
        assert text[0] == f"H id <https://w3id.org/ijkg/version/{version}> ."
        assert text[1] == f"H prev <https://w3id.org/ijkg/version/{version - 1}> ."
        assert text[2] == "TX ." and text[-1] == "TC ."
        assert sum(line.startswith("D ") for line in text) == len(removes)
        assert sum(line.startswith("A ") for line in text) == len(adds)


@pytest.mark.slow
@pytest.mark.embedded
def test_a_dump_is_the_same_after_a_restart(open_test_store: Opener) -> None:
    store = open_test_store()
    version = commit(store, with_blank(1, "a") + with_blank(2, "b"))
    commit(store, with_blank(3, "c"))
    before = dump_of(store, version)
    head_before = dump_of(store, version + 1)
    store.close()
    again = open_test_store(store.settings.data_dir)
    assert dump_of(again, version) == before
    assert dump_of(again, version + 1) == head_before


@pytest.mark.slow
def test_the_same_graph_dumps_the_same_on_the_embedded_and_an_external_store(
    portal: BlockingPortal, tmp_path: Path
) -> None:
    """Blank nodes are the store's own on one and skolem IRIs on the other: the bytes agree."""
    oxigraph = start_oxigraph()
    embedded = SyncStore(
        portal,
        portal.call(open_store, store_settings(tmp_path / "embedded", store="embedded")),
        store_settings(tmp_path / "embedded", store="embedded"),
    )
    settings = Settings(
        store="sparql",
        data_dir=tmp_path / "external",
        sparql_query_url=oxigraph.query_url,
        sparql_update_url=oxigraph.update_url,
    )
    external = SyncStore(portal, portal.call(open_store, settings), settings)
    try:
        for store in (embedded, external):
            # the bundled graph as it is (its shapes hold lists), without its load time
            commit(store, tuple(bundle_quads()))
            commit(store, with_blank(1, "a") + with_blank(2, "b"))
            commit(store, with_blank(3, "c"), removes=with_blank(1, "a"))
        versions = {store.run(store.store.version) for store in (embedded, external)}
        assert len(versions) == 1
        head = versions.pop()
        for version in (head - 1, head):
            assert dump_of(embedded, version) == dump_of(external, version)
        assert b"_:c14n" in gzip.decompress(dump_of(external, head))
    finally:
        embedded.close()
        external.close()
        oxigraph.stop()

"""The cache of entity descriptions and their representations stays within its bounds."""

from __future__ import annotations

from ijkg.graph.linked.entities import EntityDescription
from ijkg.graph.linked.entity_cache import EntityCache

ID = "https://w3id.org/ijkg/id/"


def description(slug: str, version: int) -> EntityDescription:
    return EntityDescription(
        iri=ID + "pillar/" + slug,
        version=version,
        outgoing=[],
        incoming=[],
        incoming_truncated=False,
        claims=[],
        neighbours={},
    )


def test_a_newer_version_drops_the_older_ones() -> None:
    cache = EntityCache()
    old = cache.put(description("health", 1))
    cache.keep(old, ("text/turtle",), b"x" * 10)
    assert cache.get(ID + "pillar/health", 1) is old
    new = cache.put(description("energy", 2))
    assert cache.get(ID + "pillar/health", 1) is None
    assert cache.get(ID + "pillar/energy", 2) is new
    assert (len(cache), cache.size) == (1, 0)
    # A representation made of a description that has left the cache is not kept.
    cache.keep(old, ("text/turtle",), b"x" * 10)
    assert cache.size == 0


def test_descriptions_representations_and_bytes_are_bounded() -> None:
    cache = EntityCache(max_descriptions=3, max_renderings=2, max_bytes=100)
    entries = [cache.put(description(f"p{i}", 1)) for i in range(5)]
    assert len(cache) == 3
    assert cache.get(ID + "pillar/p0", 1) is None
    last = entries[-1]
    for host in ("a", "b", "c"):
        cache.keep(last, ("application/json", host), b"y" * 10)
    assert list(last.renderings) == [("application/json", "b"), ("application/json", "c")]
    assert cache.size == 20
    assert cache.rendering(last, ("application/json", "b")) == b"y" * 10
    # Too big alone: never kept.
    cache.keep(last, ("text/turtle",), b"z" * 101)
    assert cache.rendering(last, ("text/turtle",)) is None
    # Over the byte budget: the least recently used descriptions go first.
    middle = entries[3]
    cache.keep(middle, ("text/turtle",), b"z" * 90)
    assert cache.size <= 100
    assert cache.get(ID + "pillar/p3", 1) is middle
    assert cache.get(ID + "pillar/p2", 1) is None
    assert cache.get(ID + "pillar/p4", 1) is None

"""``LinkedData``: entities, lists, search and the vocabulary for apps and pages, with the caches
they keep per graph version, for the facade (``KnowledgeGraph.linked``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, Literal

from rdflib import Graph

from ijkg.graph.core.namespaces import ONTOLOGY_GRAPH, SHAPES_GRAPH
from ijkg.graph.core.settings import Settings
from ijkg.graph.linked.docs import graph_turtle, named_graph, ontology_view, shapes_view
from ijkg.graph.linked.entities import (
    describe,
    description_graph,
    entity_json,
    fallback_label,
    serialize_description,
    summaries,
)
from ijkg.graph.linked.entity_cache import CachedEntity, EntityCache, RenderingKey
from ijkg.graph.linked.entity_view import entity_view, property_label
from ijkg.graph.linked.jsonld import CONTEXT_PATH, compact, context_document
from ijkg.graph.linked.listing import (
    COLLECTIONS,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    SORTS,
    Collection,
    ListCache,
    Page,
    Sort,
    collection,
    list_entities,
    overview,
)
from ijkg.graph.linked.schemas import KIND_CLASSES, LINK_REF, shape_properties
from ijkg.graph.linked.search import SearchIndex, search
from ijkg.graph.linked.vocabulary import Vocabulary, VocabularyCache, curie
from ijkg.graph.sparql.build import entity_path_iri
from ijkg.graph.store.base import Store

Document = Literal["ontology", "shapes"]


class Entity:
    """One entity as the graph describes it at one version, in every representation."""

    def __init__(self, cached: CachedEntity, vocabulary: Vocabulary, cache: EntityCache) -> None:
        self._cached = cached
        self._description = cached.description
        self._vocabulary = vocabulary
        self._cache = cache

    @property
    def iri(self) -> str:
        return self._description.iri

    @property
    def version(self) -> int:
        """The graph version it was read at."""
        return self._description.version

    def rendered(self, key: RenderingKey, render: Callable[[], bytes]) -> bytes:
        """A representation made once per graph version: ``render()`` the first time ``key``
        (what the bytes depend on besides the entity) is asked for, the same bytes after."""
        body = self._cache.rendering(self._cached, key)
        if body is None:
            body = render()
            self._cache.keep(self._cached, key, body)
        return body

    def json(
        self, *, base_url: str, include_evidence: bool = False, include_claims: bool = False
    ) -> dict[str, Any]:
        """The plain JSON of the entity (the service's ``EntityJson``); links under
        ``base_url``; with ``include_evidence``, the evidence of every reified statement; with
        ``include_claims``, the links from claims, evidence and selectors in ``incoming``."""
        return entity_json(
            self._description,
            self._vocabulary,
            base_url=base_url,
            include_evidence=include_evidence,
            include_claims=include_claims,
        )

    def view(self) -> dict[str, Any]:
        """What the entity's page shows."""
        return entity_view(self._description, self._vocabulary)

    def jsonld(self, context_url: str) -> bytes:
        """JSON-LD, compacted with the context at ``context_url``."""
        return compact(description_graph(self._description), context_url)

    def rdf(self, media_type: str) -> bytes:
        """The entity's triples in an RDF syntax (Turtle, N-Triples, RDF/XML)."""
        return serialize_description(self._description, media_type)


class GraphDocument:
    """The ontology or the shapes graph, read at one version: a page's view or Turtle."""

    def __init__(self, which: Document, graph: Graph, version: int) -> None:
        self._which = which
        self._graph = graph
        self.version = version

    def view(self) -> dict[str, Any]:
        return ontology_view(self._graph) if self._which == "ontology" else shapes_view(self._graph)

    def turtle(self) -> bytes:
        return graph_turtle(self._graph)


class LinkedData:
    """The linked-data reads of one graph."""

    #: Where the JSON-LD context of the entity documents is served.
    CONTEXT_PATH: Final = CONTEXT_PATH
    #: Sorts of a list, and how many items a page has (by default, at most).
    SORTS: Final = SORTS
    DEFAULT_LIMIT: Final = DEFAULT_LIMIT
    MAX_LIMIT: Final = MAX_LIMIT
    #: Where the entity JSON's links point in a per-kind JSON Schema.
    LINK_REF: Final = LINK_REF
    #: The named graph of each documentation page.
    DOCUMENT_GRAPHS: Final[dict[Document, str]] = {
        "ontology": ONTOLOGY_GRAPH,
        "shapes": SHAPES_GRAPH,
    }

    def __init__(self, settings: Settings, store: Store) -> None:
        self._settings = settings
        self._store = store
        self._vocabulary = VocabularyCache()
        self._search_index = SearchIndex()
        self._lists = ListCache()
        self._entities = EntityCache()
        self._reading: dict[tuple[str, int], asyncio.Future[CachedEntity]] = {}

    async def vocabulary(self) -> Vocabulary:
        """The ontology's terms and labels at the current version."""
        return await self._vocabulary.get(self._store)

    # --- entities ------------------------------------------------------------------------------

    @staticmethod
    def entity_iri(kind: str, slug: str) -> str:
        """The IRI ``/id/{kind}/{slug}`` names; ``NotFound`` when it cannot name an entity."""
        return entity_path_iri(kind, slug)

    async def entity(self, iri: str, *, at_version: int | None = None) -> Entity:
        """What the graph says about ``iri`` (``at_version``: as it was at that version, which
        the caller checked); ``NotFound`` when it is in no triple."""
        version = await self._store.version() if at_version is None else at_version
        cached = self._entities.get(iri, version)
        if cached is None:
            cached = await self._read_once(iri, version, at_version)
        return Entity(cached, await self.vocabulary(), self._entities)

    async def _read_once(self, iri: str, version: int, at_version: int | None) -> CachedEntity:
        """Describe ``iri`` once for all the requests that ask for it at ``version`` meanwhile
        (a burst of requests for an entity not yet cached reads it once, not once each)."""
        key = (iri, version)
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._describe(iri, at_version))
            self._reading[key] = reading
            reading.add_done_callback(lambda done: self._read(key, done))
        # Shielded: a request that goes away does not cancel the read the others wait for.
        return await asyncio.shield(reading)

    async def _describe(self, iri: str, at_version: int | None) -> CachedEntity:
        return self._entities.put(await describe(self._store, iri, at_version=at_version))

    def _read(self, key: tuple[str, int], done: asyncio.Future[CachedEntity]) -> None:
        self._reading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved here too: every waiter may have gone away

    @staticmethod
    def jsonld_context() -> bytes:
        """The JSON-LD context document every entity document refers to."""
        return context_document()

    async def labels(self, iris: set[str]) -> dict[str, str]:
        """What to call each of ``iris`` on a page: its label in the graph (English first), the
        ontology's label of a term, or its slug spaced out."""
        vocabulary = await self.vocabulary()
        found = await summaries(self._store, iris)
        out: dict[str, str] = {}
        for iri in iris:
            resource = found.get(iri)
            label = resource.label if resource is not None else None
            if label is None:
                label = vocabulary.label(iri) if iri in vocabulary.terms else fallback_label(iri)
            out[iri] = label
        return out

    async def property_labels(self, iris: set[str]) -> dict[str, str]:
        """What the entity pages call each of the properties ``iris``."""
        vocabulary = await self.vocabulary()
        return {iri: property_label(iri, vocabulary) for iri in iris}

    # --- lists and search ----------------------------------------------------------------------

    @staticmethod
    def collections() -> list[Collection]:
        """The lists, in the order the API shows them."""
        return list(COLLECTIONS.values())

    @staticmethod
    def collection(name: str) -> Collection:
        """The list called ``name``; ``NotFound`` when there is none."""
        return collection(name)

    async def list_page(
        self,
        listed: Collection,
        *,
        filters: dict[str, str],
        sort: Sort,
        limit: int,
        after: str | None = None,
        before: str | None = None,
    ) -> Page:
        """One page of a list, from the sorted keys kept per graph version (filtered lists: one
        query per page). ``BadRequest`` for an unknown filter or sort, a malformed reference or
        cursor."""
        return await list_entities(
            self._store,
            await self.vocabulary(),
            listed,
            filters=filters,
            sort=sort,
            limit=limit,
            after=after,
            before=before,
            cache=self._lists,
        )

    async def search(
        self, text: str, *, kinds: list[str] | None = None, limit: int = 10
    ) -> dict[str, Any]:
        """Labels containing ``text`` (ignoring case and accents), best matches first."""
        vocabulary = await self.vocabulary()
        return await search(
            self._store, self._search_index, vocabulary, text, kinds=kinds, limit=limit
        )

    async def overview(self) -> dict[str, Any]:
        """What the index page shows: the pillars, the agreements, the sectors, the counts."""
        return await overview(self._store, await self.vocabulary(), self._lists)

    # --- the vocabulary ------------------------------------------------------------------------

    @staticmethod
    def curie(iri: str) -> str:
        """``ijkg:Pillar`` for the ontology's IRI of a pillar (the project prefixes)."""
        return curie(iri)

    @staticmethod
    def kinds() -> dict[str, tuple[str, ...]]:
        """Each kind of entity and its classes."""
        return {k: (c,) if isinstance(c, str) else c for k, c in KIND_CLASSES.items()}

    @staticmethod
    def kind_properties(kind: str) -> dict[str, Any]:
        """The JSON Schema of a kind's ``properties``, from the SHACL shapes."""
        return shape_properties(kind)

    async def document(self, which: Document) -> GraphDocument:
        """The ontology or the shapes graph as it is now."""
        version = await self._store.version()
        graph = await named_graph(self._store, self.DOCUMENT_GRAPHS[which])
        return GraphDocument(which, graph, version)

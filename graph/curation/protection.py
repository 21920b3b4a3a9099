"""What a writer may touch.

Three rules, checked on every write path (change proposals, merges, reverts and rejections, SPARQL
Update, the Graph Store Protocol, ``ijkg load``) against the quads a write adds *and* removes:

- **Graphs.** The ontology and shapes graphs may only be written with the admin role (they are
  reloaded from the package on upgrade anyway); the system and changes graphs are written by the
  service itself and by no write path.
- **The project's own terms** — the ``ijkg:`` namespace and every term the packaged ontology
  defines (its classes, properties, schemes and concepts) — are defined by the admin alone, in any
  graph: a writer may not say anything *about* them (a triple with one as its subject), nor
  write a schema property (``rdfs:subClassOf``, ``rdfs:subPropertyOf``, ``owl:equivalentClass``,
  ``rdfs:domain`` ...) that relates a term to one of them or to a term the ontology builds on
  (``skos:Concept``, ``prov:Entity`` ...), or that changes such a term. Otherwise a writer could
  make every pillar an agreement with one triple.
- **The history's vocabulary** is written by the service alone, by no one else, in any graph and
  on any subject: the properties and classes of change and merge records (``ijkg:changedBy``,
  ``ijkg:changeStatus``, ``ijkg:Merge`` ..., the terms of the ontology's history module), the PROV
  terms the service puts on merge records, and the IRIs the service mints for its records
  (``id/change/…``, ``id/merge/…``, ``id/agent/…``). So the history cannot be forged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import pairwise

import pyoxigraph as ox
from rdflib import Graph, URIRef

from ijkg.graph.core.bundle import bundle_files
from ijkg.graph.core.errors import Forbidden
from ijkg.graph.core.namespaces import (
    CHANGES_GRAPH,
    ID_BASE,
    IJKG,
    ONTOLOGY_GRAPH,
    ONTOLOGY_IRI,
    SHAPES_GRAPH,
    SYSTEM_GRAPH,
)
from ijkg.graph.curation.validation import ontology
from ijkg.graph.store.base import Delta

ADMIN_GRAPHS = frozenset({ONTOLOGY_GRAPH, SHAPES_GRAPH})
SERVICE_GRAPHS = frozenset({SYSTEM_GRAPH, CHANGES_GRAPH})

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_OWL = "http://www.w3.org/2002/07/owl#"
_PROV = "http://www.w3.org/ns/prov#"
RDF_TYPE = _RDF + "type"

#: Properties that define a term by relating it to another: with a project term as their object,
#: they change what the project's terms mean (which classes are agreements, say).
SCHEMA_PROPERTIES = frozenset(
    [_RDFS + p for p in ("subClassOf", "subPropertyOf", "domain", "range")]
    + [
        _OWL + p
        for p in (
            "equivalentClass",
            "equivalentProperty",
            "inverseOf",
            "disjointWith",
            "propertyDisjointWith",
            "complementOf",
            "sameAs",
            "onClass",
            "onProperty",
            "allValuesFrom",
            "someValuesFrom",
            "hasKey",
        )
    ]
)

#: PROV terms the service writes on its change and merge records.
HISTORY_PROV_PROPERTIES = frozenset(
    _PROV + p
    for p in ("used", "wasAssociatedWith", "startedAtTime", "endedAtTime", "wasAttributedTo")
)
HISTORY_PROV_CLASSES = frozenset(_PROV + c for c in ("Activity", "Agent"))
#: Where the service mints the IRIs of its records.
MINTED_PREFIXES = tuple(ID_BASE + kind + "/" for kind in ("change", "merge", "agent"))


class ProtectedGraph(Forbidden):
    """A write would touch a graph this writer may not write."""


class ProtectedTerm(Forbidden):
    """A write would define a project term without the admin role, or write the history's own
    vocabulary or records (which only the service writes)."""


@lru_cache(maxsize=1)
def _history_module() -> Graph:
    graph = Graph()
    for bundled in bundle_files():
        if bundled.name == "ontology/changes.ttl":
            graph.parse(data=bundled.read_bytes(), format="turtle")
    return graph


@lru_cache(maxsize=1)
def history_terms() -> frozenset[str]:
    """The terms of the history's vocabulary: those the ontology's history module defines (its
    classes, properties and status concepts), and the PROV terms on merge records.

    >>> IJKG + "changedBy" in history_terms(), _PROV + "endedAtTime" in history_terms()
    (True, True)
    >>> _PROV + "wasDerivedFrom" in history_terms()  # data says where it comes from with it
    False
    """
    defined = {
        str(s)
        for s in _history_module().subjects()
        if isinstance(s, URIRef) and not str(s).startswith(ONTOLOGY_IRI + "/")
    }
    return frozenset(defined | HISTORY_PROV_PROPERTIES | HISTORY_PROV_CLASSES)


@lru_cache(maxsize=1)
def project_terms() -> frozenset[str]:
    """Every term the packaged ontology defines (the subjects of its triples)."""
    return frozenset(str(s) for s in ontology().subjects() if isinstance(s, URIRef))


def is_project_term(iri: str) -> bool:
    """Whether ``iri`` is one of the project's own terms: in the ``ijkg:`` namespace, the
    ontology's own IRI (or one of its modules), or a term the packaged ontology defines.

    >>> is_project_term(IJKG + "Pillar"), is_project_term(IJKG + "SomethingNew")
    (True, True)
    >>> is_project_term("https://w3id.org/ijkg/id/concept/change-merged")
    True
    >>> is_project_term("https://w3id.org/ijkg/id/state/japan")
    False
    """
    return (
        iri.startswith(IJKG)
        or iri == ONTOLOGY_IRI
        or iri.startswith(ONTOLOGY_IRI + "/")
        or iri in project_terms()
    )


def is_minted(iri: str) -> bool:
    """Whether ``iri`` is one the service mints for its own records.

    >>> is_minted("https://w3id.org/ijkg/id/merge/forged"), is_minted(ID_BASE + "state/japan")
    (True, False)
    """
    return iri.startswith(MINTED_PREFIXES)


def _iri(term: object) -> str | None:
    return term.value if isinstance(term, ox.NamedNode) else None


def graphs_of(delta: Delta) -> set[str]:
    names = set()
    for quad in (*delta.removes, *delta.adds):
        name = quad.graph_name
        names.add(name.value if isinstance(name, ox.NamedNode | ox.BlankNode) else "DEFAULT")
    return names


def _history_problem(quad: ox.Quad) -> str | None:
    history = history_terms()
    predicate = quad.predicate.value
    subject, obj = _iri(quad.subject), _iri(quad.object)
    if predicate in history:
        return f"<{predicate}> is the history's own property"
    if predicate == RDF_TYPE and obj is not None and obj in history:
        return f"<{obj}> is the history's own class"
    for term in (subject, obj):
        if term is not None and is_minted(term):
            return f"<{term[:200]}> names one of the service's own records"
    return None


@lru_cache(maxsize=1)
def ontology_signature() -> frozenset[str]:
    """Every IRI the packaged ontology mentions: its own terms and those it builds on
    (``skos:Concept``, ``prov:Entity`` ...). A class axiom on one of those changes the project's
    hierarchy as surely as one on a project term (``skos:Concept rdfs:subClassOf X`` makes every
    pillar an X)."""
    return frozenset(
        str(term) for triple in ontology() for term in triple if isinstance(term, URIRef)
    )


def _project_problem(quad: ox.Quad) -> str | None:
    subject, obj = _iri(quad.subject), _iri(quad.object)
    if subject is not None and is_project_term(subject):
        return f"<{subject}> is a term of the project's ontology"
    predicate = quad.predicate.value
    if predicate not in SCHEMA_PROPERTIES:
        return None
    signature = ontology_signature()
    if obj is not None and (is_project_term(obj) or obj in signature):
        return f"<{predicate}> <{obj}> relates a term to the project's ontology"
    if subject is not None and subject in signature:
        return f"<{subject}> <{predicate}> changes a term the project's ontology builds on"
    return None


def _first_problems(quads: Iterable[ox.Quad], check: Callable[[ox.Quad], str | None]) -> list[str]:
    problems: list[str] = []
    for quad in quads:
        problem = check(quad)
        if problem is not None and problem not in problems:
            problems.append(problem)
            if len(problems) >= 3:
                break
    return problems


def check_write(delta: Delta, *, admin: bool) -> None:
    """Raise ``ProtectedGraph`` or ``ProtectedTerm`` if ``delta`` (what it adds or removes)
    touches what its writer may not write (see the module docstring)."""
    touched = graphs_of(delta)
    service = sorted(touched & SERVICE_GRAPHS)
    if service:
        raise ProtectedGraph(
            f"{', '.join(service)} is written by the service itself; no write may change it"
        )
    quads = (*delta.removes, *delta.adds)
    history = _first_problems(quads, _history_problem)
    if history:
        raise ProtectedTerm(
            "the history of changes is written by the service alone, on every subject: "
            + "; ".join(history)
        )
    if admin:
        return
    admin_only = sorted(touched & ADMIN_GRAPHS)
    if admin_only:
        raise ProtectedGraph(f"writing {', '.join(admin_only)} needs a token with the admin role")
    project = _first_problems(quads, _project_problem)
    if project:
        raise ProtectedTerm(
            "defining the project's own terms (their classes, hierarchy and definitions) needs "
            "a token with the admin role: " + "; ".join(project)
        )


#: Graph management that empties every graph, the ontology and shapes graphs included (the default
#: graph is the union of them all): ``DROP ALL``, ``CLEAR NAMED``, ``DROP DEFAULT``, ``MOVE DEFAULT
#: TO ...`` and their ``SILENT`` forms.
_EMPTIES_EVERY_GRAPH = {("DROP", "ALL"), ("DROP", "NAMED"), ("DROP", "DEFAULT"), ("CLEAR", "ALL")}
_EMPTIES_EVERY_GRAPH |= {("CLEAR", "NAMED"), ("CLEAR", "DEFAULT"), ("MOVE", "DEFAULT")}


def check_update_text(keywords: list[str], *, admin: bool) -> None:
    """Raise ``ProtectedGraph`` for an update that empties every graph, unless by the admin.

    Its effect would say the same, but only after reading every quad of the store, which a loaded
    machine may not finish within the time limit: what the text alone decides is refused at once.

    >>> try:
    ...     check_update_text(["CLEAR", "SILENT", "ALL"], admin=False)
    ... except ProtectedGraph as refused:
    ...     print(refused)
    CLEAR ALL empties the ontology and shapes graphs too: it needs a token with the admin role
    >>> check_update_text(["CLEAR", "GRAPH"], admin=False)
    """
    if admin:
        return
    operations = [word for word in keywords if word != "SILENT"]
    for operation, target in pairwise(operations):
        if (operation, target) in _EMPTIES_EVERY_GRAPH:
            raise ProtectedGraph(
                f"{operation} {target} empties the ontology and shapes graphs too: "
                "it needs a token with the admin role"
            )


def needs_admin(delta: Delta) -> bool:
    """Whether only the admin may write ``delta`` (and so merge or reject it as a proposal)."""
    try:
        check_write(delta, admin=False)
    except (ProtectedGraph, ProtectedTerm):
        return True
    return False

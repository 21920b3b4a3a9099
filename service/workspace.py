"""The curator's workspace: ``/changes`` and ``/changes/{id}`` as pages for browsers.

The pages are rendered here from what the JSON routes read (the same changes, the same report);
their actions (check, propose, merge, reject, revert) run in the page's own script
(``static/workspace/workspace.js``), which calls the JSON API with the curator's token from the
tab's ``sessionStorage`` in an ``Authorization`` header — never a cookie, so no other site can
act with it, and a closed tab forgets it.

A change's diff is shown as triples a person reads: grouped by the entity they are about, each
term by its label (the labels the change itself gives first — a new entity's label is in the
change — then the graph's), added and removed apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import pyoxigraph as ox
from starlette.responses import Response

from ijkg.graph import ID_BASE, Change, ChangeDiff, KnowledgeGraph, content_type
from ijkg.service.change_json import change_out
from ijkg.service.linked import HTML, PAGE_POLICY, href, render

#: The workspace pages: the other pages' policy, and their own script (from this origin only).
WORKSPACE_POLICY: Final = PAGE_POLICY.replace(
    "default-src 'none'", "default-src 'none'; script-src 'self'", 1
)
_RDF: Final = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_LABELS: Final = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
)
#: Triples that say where a fact comes from: shown again as the change's evidence.
EVIDENCE_PREDICATES: Final = frozenset(
    {
        "http://www.w3.org/ns/prov#wasDerivedFrom",
        "http://www.w3.org/ns/prov#hadPrimarySource",
        "http://purl.org/dc/terms/source",
        "https://w3id.org/ijkg/ontology#evidence",
        "https://w3id.org/ijkg/ontology#quote",
        "https://w3id.org/ijkg/ontology#quotedText",
        "https://w3id.org/ijkg/ontology#quotedFrom",
    }
)
STATUSES: Final = ("proposed", "merged", "rejected")
#: The triples a change's page shows at most (a bulk load may hold many thousands); the whole
#: diff is in the change's JSON.
DIFF_ROWS: Final = 1000


def workspace_page(body: str) -> Response:
    return Response(
        body.encode(),
        media_type=content_type(HTML),
        headers={"Content-Security-Policy": WORKSPACE_POLICY, "Vary": "Accept"},
    )


# --- the diff as readable triples ---------------------------------------------------------------


@dataclass(frozen=True)
class TermView:
    """One term of a triple as a page shows it: a link with a label, or a literal's text."""

    text: str
    iri: str | None = None
    href: str | None = None
    note: str = ""


@dataclass(frozen=True)
class TripleView:
    predicate: TermView
    value: TermView
    graph: str | None
    sign: str  # "added" or "removed"


@dataclass
class EntityGroup:
    """The triples of a change about one entity (its subject)."""

    subject: TermView
    triples: list[TripleView] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(t.sign == "added" for t in self.triples)

    @property
    def removed(self) -> int:
        return sum(t.sign == "removed" for t in self.triples)


def _iris(quads: tuple[ox.Quad, ...]) -> set[str]:
    found: set[str] = set()
    for quad in quads:
        for term in (quad.subject, quad.predicate, quad.object):
            if isinstance(term, ox.NamedNode):
                found.add(term.value)
    return found


def _own_labels(quads: tuple[ox.Quad, ...]) -> dict[str, str]:
    """The labels the change itself gives (English or untagged first): a new entity's name."""
    labels: dict[str, str] = {}
    for predicate in reversed(_LABELS):
        for quad in quads:
            if (
                quad.predicate.value == predicate
                and isinstance(quad.subject, ox.NamedNode)
                and isinstance(quad.object, ox.Literal)
                and quad.object.language in (None, "en")
            ):
                labels[quad.subject.value] = quad.object.value
    return labels


def _term(term: Any, labels: dict[str, str]) -> TermView:
    if isinstance(term, ox.NamedNode):
        iri = term.value
        return TermView(labels.get(iri, iri), iri, href(iri))
    if isinstance(term, ox.Literal):
        if term.language:
            note = f"@{term.language}"
        elif term.datatype.value.endswith("#string"):
            note = ""
        else:
            note = term.datatype.value.rsplit("#", 1)[-1]
        return TermView(term.value, note=note)
    return TermView(str(term))


def _predicate(term: ox.NamedNode, labels: dict[str, str]) -> TermView:
    if term.value == _RDF + "type":
        return TermView("is a", term.value, href(term.value))
    return _term(term, labels)


def group_by_entity(
    adds: tuple[ox.Quad, ...], removes: tuple[ox.Quad, ...], labels: dict[str, str]
) -> list[EntityGroup]:
    """The triples of a change grouped by subject, removals before additions within a group, the
    groups in the order their entities first appear."""
    groups: dict[str, EntityGroup] = {}
    for sign, quads in (("removed", removes), ("added", adds)):
        for quad in quads:
            key = str(quad.subject)
            group = groups.setdefault(key, EntityGroup(_term(quad.subject, labels)))
            graph = None if isinstance(quad.graph_name, ox.DefaultGraph) else quad.graph_name.value
            group.triples.append(
                TripleView(
                    _predicate(quad.predicate, labels), _term(quad.object, labels), graph, sign
                )
            )
    return list(groups.values())


async def diff_labels(
    graph: KnowledgeGraph, quads: tuple[ox.Quad, ...], own: dict[str, str]
) -> dict[str, str]:
    """Labels of every IRI in ``quads``: properties as the entity pages name them; the other
    terms by the change's ``own`` labels first, then the graph's."""
    properties = {q.predicate.value for q in quads}
    wanted = _iris(quads) - set(own) - properties
    return {
        **(await graph.linked.labels(wanted) if wanted else {}),
        **own,
        **await graph.linked.property_labels(properties),
    }


# --- the pages ----------------------------------------------------------------------------------


def entity_filter(touching: str | None) -> str | None:
    """The IRI an entity filter on the page names: an IRI, or an entity's ``kind/slug`` (or its
    path, ``/id/kind/slug``), as a curator types it."""
    if not touching or not touching.strip():
        return None
    text = touching.strip()
    if "://" in text:
        return text
    return ID_BASE + text.removeprefix("/").removeprefix("id/")


async def changes_page(
    graph: KnowledgeGraph,
    found: list[Change],
    *,
    status: str | None,
    author: str | None,
    touching: str | None,
    next_url: str | None,
) -> Response:
    labels = await graph.linked.labels({touching}) if touching else {}
    body = render(
        "changes.html",
        changes=[change_out(c) for c in found],
        statuses=STATUSES,
        status=status or "",
        author=author or "",
        touching=touching or "",
        touching_label=labels.get(touching or ""),
        next_url=next_url,
    )
    return workspace_page(body)


async def change_page(graph: KnowledgeGraph, detail: ChangeDiff) -> Response:
    change = detail.change
    removes = change.removes[:DIFF_ROWS]
    adds = change.adds[: DIFF_ROWS - len(removes)]
    own = _own_labels(change.adds + change.removes)
    labels = await diff_labels(graph, adds + removes, own)
    groups = group_by_entity(adds, removes, labels)
    evidence = [
        (group.subject, triple)
        for group in groups
        for triple in group.triples
        if triple.predicate.iri in EVIDENCE_PREDICATES
    ]
    body = render(
        "change.html",
        change=change_out(change),
        reason=change.reason,
        groups=groups,
        added=len(change.adds),
        removed=len(change.removes),
        shown=len(adds) + len(removes),
        evidence=evidence,
        additions=detail.additions,
        removals=detail.removals,
        report=detail.report,
    )
    return workspace_page(body)

"""The bundled knowledge graph (graph/data/*.trig) against its source text, the ontology and the
shapes: every claim of the article is anchored byte for byte in the article, every claim agrees
with the triples of its graph, the article graph and the context graph stay apart, and only
verified Wikidata identifiers are used.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from functools import cache
from importlib.resources import files

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SKOS, XSD, Namespace

from ijkg.graph.core.bundle import bundle_files, source_text
from ijkg.graph.core.namespaces import ARTICLE_GRAPH, CONTEXT_GRAPH, ID_BASE, IJKG
from ijkg.graph.core.terms import to_rdflib
from ijkg.graph.curation.validation import ontology, validate, validate_ontology

IJ = Namespace(IJKG)
OA = Namespace("http://www.w3.org/ns/oa#")
PROV = Namespace("http://www.w3.org/ns/prov#")
DCTERMS = Namespace("http://purl.org/dc/terms/")
ARTICLE = URIRef(ID_BASE + "source/india-japan-new-chapter")
ARTICLE_MEETING = URIRef(ID_BASE + "meeting/modi-takaichi-2025-11-23")
DISPUTED = URIRef(ID_BASE + "concept/status-disputed")
UNCONFIRMED = URIRef(ID_BASE + "concept/status-unconfirmed")
HEDGE = URIRef(ID_BASE + "concept/modality-hedge")
WIKIDATA = "http://www.wikidata.org/"

# Predicates that organise or name things rather than state facts of a source: their triples need
# no claim. Every other triple about an entity is reified by at least one claim of its graph.
BOOKKEEPING = {
    RDF.type, RDF.first, RDF.rest, RDFS.label, RDFS.comment, SKOS.prefLabel, SKOS.altLabel,
    IJ.shortName, SKOS.notation, SKOS.inScheme, SKOS.topConceptOf, SKOS.hasTopConcept, SKOS.member,
    SKOS.memberList, SKOS.definition, SKOS.editorialNote, SKOS.note, OWL.sameAs, SKOS.exactMatch,
    SKOS.closeMatch, PROV.wasDerivedFrom, IJ.modality,
}  # fmt: skip
# Nodes whose triples are covered by the claim on the triple that links to them (amounts,
# periods, participations), or that are claims, evidence and sources themselves.
STRUCTURAL_KINDS = {
    "claim", "evidence", "selector", "conflict", "amount", "period", "participation", "source",
    "list", "collection", "scheme",
}  # fmt: skip

# Wikidata identifiers the research notes list as verified, and the "medium" ones the graph may
# use only as skos:closeMatch. Anything else must not appear.
VERIFIED = {
    "Q668": "India: several public files",
    "Q17": "Japan: several public files",
    "Q1058": "Narendra Modi: confirmed live in a public README, NER table",
    "Q1705028": "Sanae Takaichi: EveryPolitician term-48.csv",
    "Q1335527": "Shigeru Ishiba: EveryPolitician term-48.csv",
    "Q132345": "Shinzo Abe: EveryPolitician term-48.csv",
    "Q132596": "Taro Aso: EveryPolitician term-48.csv",
    "Q359480": "Fumio Kishida: EveryPolitician term-48.csv",
    "Q232595": "Liberal Democratic Party: wikidata_group column of term-48.csv",
    "Q7108": "biotechnology: a QID map and an industry-QID list",
    "Q12705": "renewable energy (closeMatch of clean energy): four public files",
    "Q132325": "Ayurveda: an ami dictionary and two Q-id tables",
    "Q131569": "treaty (class): many SPARQL snippets",
    "P276": "location (property): seen in public SPARQL",
}
MEDIUM_CLOSE_MATCH_ONLY = {
    "Q418": "telecommunications: two public maps of mixed quality",
    "Q11660": "artificial intelligence: two public maps",
}


def _term(term: object) -> URIRef | BNode | Literal:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    assert isinstance(term, ox.Literal), term
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


@cache
def graphs() -> dict[str, Graph]:
    """The named graphs of graph/data/*.trig (parsed the way the store loads them)."""
    out: dict[str, Graph] = {}
    for bundled in bundle_files():
        if bundled.name.startswith("graph/data/"):
            for quad in bundled.quads():
                assert isinstance(quad.graph_name, ox.NamedNode), quad
                g = out.setdefault(quad.graph_name.value, Graph())
                g.add((_term(quad.subject), _term(quad.predicate), _term(quad.object)))
    return out


def graph(iri: str) -> Graph:
    return graphs()[iri]


@cache
def merged() -> Graph:
    out = Graph()
    for g in graphs().values():
        for triple in g:
            out.add(triple)
    return out


def all_triples() -> Iterator[tuple[object, object, object]]:
    for g in graphs().values():
        yield from g


def _int(node: object) -> int:
    assert isinstance(node, Literal), node
    return int(str(node))


def kind_of(node: object) -> str | None:
    if isinstance(node, URIRef) and str(node).startswith(ID_BASE):
        return str(node)[len(ID_BASE) :].split("/", 1)[0]
    return None


def claims(g: Graph) -> Iterator[URIRef]:
    for claim in g.subjects(RDF.type, IJ.Claim):
        assert isinstance(claim, URIRef)
        yield claim


@cache
def article_bytes() -> bytes:
    return files("ijkg.graph").joinpath("sources", "india-japan-new-chapter.txt").read_bytes()


@cache
def segments() -> dict[str, dict[str, object]]:
    raw = files("ijkg.graph").joinpath("sources", "india-japan-new-chapter.sentences.json")
    data = json.loads(raw.read_text(encoding="utf-8"))
    return {seg["id"]: seg for seg in data["segments"]}


# ---- shape of the data ------------------------------------------------------------------------


def test_the_data_names_the_article_and_context_graphs() -> None:
    assert {ARTICLE_GRAPH, CONTEXT_GRAPH} <= set(graphs())
    assert len(graph(ARTICLE_GRAPH)) > 1000 and len(graph(CONTEXT_GRAPH)) > 1000


def test_no_blank_nodes_and_well_formed_entity_iris() -> None:
    pattern = re.compile(r"^https://w3id\.org/ijkg/id/[a-z]+/[a-z0-9]+(-[a-z0-9]+)*$")
    for s, _p, o in all_triples():
        for node in (s, o):
            assert not isinstance(node, BNode), f"blank node in the data: {s} {_p} {o}"
            if isinstance(node, URIRef) and str(node).startswith(ID_BASE):
                assert pattern.match(str(node)), f"malformed entity IRI {node}"


def test_every_ijkg_term_used_is_declared_in_the_ontology() -> None:
    onto = ontology()
    classes = set(onto.subjects(RDF.type, OWL.Class))
    properties = {
        s
        for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
        for s in onto.subjects(RDF.type, kind)
    }
    for s, p, o in all_triples():
        if str(p).startswith(IJKG):
            assert p in properties, f"undeclared property {p}"
        if p == RDF.type and str(o).startswith(IJKG):
            assert o in classes, f"undeclared class {o}"
        if p == RDF.predicate and str(o).startswith(IJKG):
            assert o in properties, f"claim about an undeclared property {o}"
        assert not (p in properties and s in classes), (s, p, o)


def test_the_bundled_data_conforms_to_the_shapes() -> None:
    report = validate(merged())
    assert report.conforms, [str(r) for r in report.violations[:10]]
    # warnings are expected only for what the sources do not say
    warned = {re.sub(r"^<.*#(S\d\d)-.*$", r"\1", r.source_shape) for r in report.warnings}
    assert warned <= {"S02", "S19", "S31"}, warned


def test_the_data_conforms_after_a_round_trip_through_the_store() -> None:
    """Stores may canonicalise literals (Oxigraph turns xsd:nonNegativeInteger into xsd:integer):
    the data must validate the same once stored, or the gate would reject the bundle itself."""
    store = ox.Store()
    for bundled in bundle_files():
        if bundled.name.startswith("graph/data/"):
            store.bulk_extend(bundled.quads())
    stored = Graph()
    for quad in store:
        stored.add((_term(quad.subject), _term(quad.predicate), _term(quad.object)))
    assert len(stored) == len(merged())
    report = validate(stored)
    assert report.conforms, [str(r) for r in report.violations[:10]]


def test_a_first_query_on_rdfs_label_finds_every_entity() -> None:
    """Pillars, sectors, concepts and schemes carry their preferred label as rdfs:label too: the
    query a newcomer writes first finds them, and finds every other entity (claim bookkeeping
    aside) by the same property."""
    store = ox.Store()
    for bundled in bundle_files():
        if bundled.name.startswith("graph/data/"):
            store.bulk_extend(bundled.quads())
    prefixes = f"PREFIX ijkg: <{IJKG}> PREFIX rdfs: <{RDFS}> PREFIX skos: <{SKOS}> "
    for kind in ("Sector", "Pillar"):
        things = {
            r["s"].value
            for r in store.query(
                prefixes + f"SELECT ?s WHERE {{ ?s a ijkg:{kind} }}",
                use_default_graph_as_union=True,
            )
        }
        labelled = {
            r["s"].value
            for r in store.query(
                prefixes + f"SELECT ?s ?l WHERE {{ ?s a ijkg:{kind} ; rdfs:label ?l }}",
                use_default_graph_as_union=True,
            )
        }
        assert things and labelled == things, kind
    unlabelled = [
        str(s)
        for s in set(merged().subjects(RDF.type, None))
        if kind_of(s) not in (None, "evidence", "selector", "list")
        and not any(
            isinstance(o, Literal) and o.language == "en" for o in merged().objects(s, RDFS.label)
        )
    ]
    assert not unlabelled, sorted(unlabelled)[:10]
    for s, o in merged().subject_objects(SKOS.prefLabel):
        assert (s, RDFS.label, o) in merged(), (s, o)


def test_the_vocabularies_concepts_carry_their_label_as_rdfs_label_too() -> None:
    """The ontology's own concepts (modalities, directions, change statuses ...) are found by the
    same first query, and meet the same shape when a change makes them focus nodes: without it
    the gate refused a change about one of them that whole-graph validation let through."""
    everything = Graph()
    for bundled in bundle_files():
        if not bundled.name.startswith("graph/data/"):
            for quad in bundled.quads():
                everything.add(
                    (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
                )
    labelled = list(everything.subject_objects(SKOS.prefLabel))
    assert len(labelled) > 30
    for s, o in labelled:
        assert (s, RDFS.label, o) in everything, (s, o)


def test_the_ontology_passes_its_meta_shapes() -> None:
    report = validate_ontology()
    assert report.conforms and not report.results, [str(r) for r in report.results[:10]]


# ---- the article and its evidence ----------------------------------------------------------------


def test_the_article_source_describes_the_bundled_file() -> None:
    g = graph(ARTICLE_GRAPH)
    raw = article_bytes()
    text = source_text("india-japan-new-chapter.txt")
    assert (ARTICLE, RDF.type, IJ.NewsArticle) in g
    assert str(g.value(ARTICLE, IJ.fileName)) == "india-japan-new-chapter.txt"
    assert str(g.value(ARTICLE, IJ.sha256)) == hashlib.sha256(raw).hexdigest()
    assert _int(g.value(ARTICLE, IJ.byteSize)) == len(raw)
    assert _int(g.value(ARTICLE, IJ.charCount)) == len(text)
    assert str(g.value(ARTICLE, DCTERMS.title)) == segments()["H0"]["exact"]
    link = g.value(g.value(ARTICLE, IJ.newsLink), IJ.url)
    assert link is not None and str(link) in str(segments()["S41"]["exact"])
    # the article states no date, author or publisher: none is invented
    for missing in (IJ.publicationDate, IJ.author, IJ.publisher, DCTERMS.date, DCTERMS.issued):
        assert g.value(ARTICLE, missing) is None, missing
    for _s, _p, o in g:
        assert not (isinstance(o, Literal) and o.datatype in (XSD.date, XSD.dateTime)), (_s, _p, o)


def test_every_article_claim_has_evidence_that_matches_the_text_byte_for_byte() -> None:
    g = graph(ARTICLE_GRAPH)
    raw = article_bytes()
    text = raw.decode("utf-8")
    article_claims = list(claims(g))
    assert len(article_claims) > 150
    for claim in article_claims:
        assert set(g.objects(claim, PROV.wasDerivedFrom)) == {ARTICLE}, claim
        evidence = list(g.objects(claim, IJ.evidence))
        assert evidence, f"{claim} has no evidence"
        exacts = set()
        for ev in evidence:
            assert g.value(ev, OA.hasSource) == ARTICLE, ev
            sel = {g.value(x, RDF.type): x for x in g.objects(ev, OA.hasSelector)}
            quote, position, data = (
                sel[OA.TextQuoteSelector],
                sel[OA.TextPositionSelector],
                sel[OA.DataPositionSelector],
            )
            exact = str(g.value(quote, OA.exact))
            start, end = _int(g.value(position, OA.start)), _int(g.value(position, OA.end))
            b_start, b_end = _int(g.value(data, OA.start)), _int(g.value(data, OA.end))
            assert text[start:end] == exact, (ev, exact)
            assert raw[b_start:b_end] == exact.encode("utf-8"), (ev, exact)
            assert text[:start].endswith(str(g.value(quote, OA.prefix))), ev
            assert text[end:].startswith(str(g.value(quote, OA.suffix))), ev
            segment = segments()[str(g.value(ev, IJ.segmentId))]
            assert (segment["char_start"], segment["char_end"]) == (start, end), ev
            assert (segment["byte_start"], segment["byte_end"]) == (b_start, b_end), ev
            exacts.add(exact)
        assert {str(q) for q in g.objects(claim, IJ.quote)} == exacts, claim


def test_non_breaking_spaces_are_kept() -> None:
    g = graph(ARTICLE_GRAPH)
    with_nbsp = {
        sid for sid, seg in segments().items() if seg["contains_nbsp"] and sid.startswith("S")
    }
    assert with_nbsp == {"S13", "S17", "S26"}
    for ev in g.subjects(IJ.segmentId, None):
        sid = str(g.value(ev, IJ.segmentId))
        if sid in with_nbsp:
            quote = next(x for x in g.objects(ev, OA.hasSelector) if (x, OA.exact, None) in g)
            assert "\u00a0" in str(g.value(quote, OA.exact)), sid


def test_every_sentence_that_carries_content_is_evidence() -> None:
    g = graph(ARTICLE_GRAPH)
    used = {str(o) for o in g.objects(None, IJ.segmentId)}
    sentences = {sid for sid, seg in segments().items() if seg["kind"] != "noise"}
    # S04 ("These pillars include:") only introduces the list; the section headings H1-H6 are
    # claims of the article's framing ("A Strategic Reset")
    assert sentences - used == {"S04"}
    assert not {sid for sid in used if sid.startswith("N")}, "noise used as evidence"


def test_the_names_in_the_article_graph_are_the_articles_words() -> None:
    """Alternative and short names in the article's graph are names the article uses; names from
    other sources ("SSGP", "counter-terrorism") belong to the context graph."""
    g = graph(ARTICLE_GRAPH)

    def fold(text: str) -> str:
        return " ".join(text.replace("\u00a0", " ").casefold().split())

    text = fold(source_text("india-japan-new-chapter.txt"))
    names = [(s, o) for p in (SKOS.altLabel, IJ.shortName) for s, o in g.subject_objects(p)]
    assert len(names) > 10
    for subject, name in names:
        assert fold(str(name)) in text, (subject, str(name))


def test_surface_and_attribution_texts_occur_in_the_quoted_sentence() -> None:
    g = graph(ARTICLE_GRAPH)
    for claim in claims(g):
        quotes = [str(q) for q in g.objects(claim, IJ.quote)]
        for prop in (IJ.surfaceText, IJ.attributionText):
            for words in g.objects(claim, prop):
                assert any(str(words) in q for q in quotes), (claim, prop, words)


# ---- claims and triples -----------------------------------------------------------------------------


@pytest.mark.parametrize("graph_iri", [ARTICLE_GRAPH, CONTEXT_GRAPH])
def test_claims_and_the_triples_of_their_graph_agree(graph_iri: str) -> None:
    g = graph(graph_iri)
    reified: set[tuple[object, object, object]] = set()
    for claim in claims(g):
        triple = (
            g.value(claim, RDF.subject),
            g.value(claim, RDF.predicate),
            g.value(claim, RDF.object),
        )
        if triple[0] is None:
            assert g.value(claim, IJ.about) is not None, claim
            continue
        # the status is the curators' judgement, stated in the context graph for the article's claims
        flagged = merged().value(claim, IJ.curationStatus) is not None
        assert (triple in g) != flagged, f"{claim}: asserted={triple in g}, flagged={flagged}"
        reified.add(triple)
    for s, p, o in g:
        if p in BOOKKEEPING or kind_of(s) in STRUCTURAL_KINDS or kind_of(s) is None:
            continue
        assert (s, p, o) in reified, f"no claim in {graph_iri} for {s} {p} {o}"


def test_disputed_claims_are_kept_in_a_conflict_that_prefers_another_claim() -> None:
    g = graph(CONTEXT_GRAPH)
    disputed = set(g.subjects(IJ.curationStatus, DISPUTED))
    assert len(disputed) > 10
    for claim in disputed:
        conflicts = list(g.subjects(IJ.disputedClaim, claim))
        assert conflicts, claim
        for conflict in conflicts:
            assert (conflict, IJ.conflictingClaim, claim) in g, (conflict, claim)
            preferred = set(g.objects(conflict, IJ.preferredClaim))
            assert preferred and claim not in preferred, (conflict, claim)


def test_every_conflict_names_the_claim_it_disputes_and_what_is_preferred() -> None:
    g = graph(CONTEXT_GRAPH)
    conflicts = list(g.subjects(RDF.type, IJ.Conflict))
    assert len(conflicts) >= 10
    for conflict in conflicts:
        disputed = set(g.objects(conflict, IJ.disputedClaim))
        preferred = set(g.objects(conflict, IJ.preferredClaim))
        assert disputed and preferred, conflict
        for claim in disputed:
            assert (claim, IJ.curationStatus, DISPUTED) in g, claim
        # what the context says instead comes from the context
        for claim in preferred:
            assert (claim, RDF.type, IJ.Claim) in g, (conflict, claim)


def test_no_article_claim_the_context_disputes_or_cannot_confirm_is_a_plain_triple() -> None:
    """The default graph is the union of the named graphs: a flagged claim's triple must be in none
    of them unless another, accepted claim of that graph asserts it."""
    article = graph(ARTICLE_GRAPH)
    status = {c: merged().value(c, IJ.curationStatus) for c in claims(article)}
    flagged = {c for c, s in status.items() if s is not None}
    assert len(flagged) >= 25
    accepted: set[tuple[object, object, object]] = set()
    for g in graphs().values():
        for claim in claims(g):
            if merged().value(claim, IJ.curationStatus) is None and g.value(claim, RDF.subject):
                accepted.add(
                    (g.value(claim, RDF.subject), g.value(claim, RDF.predicate),
                     g.value(claim, RDF.object))
                )  # fmt: skip
    for claim in flagged:
        triple = (
            article.value(claim, RDF.subject),
            article.value(claim, RDF.predicate),
            article.value(claim, RDF.object),
        )
        if triple[0] is None:
            continue
        assert triple not in merged() or triple in accepted, (claim, triple)
    # hedged statements are flagged: they are the author's guess
    for claim in article.subjects(IJ.modality, HEDGE):
        assert claim in flagged, claim


def test_no_entity_carries_two_modalities() -> None:
    g = merged()
    for node in set(g.subjects(IJ.modality, None)):
        modalities = set(g.objects(node, IJ.modality))
        assert len(modalities) == 1, (node, modalities)


def test_conflicts_set_the_article_against_the_context() -> None:
    article, context = graph(ARTICLE_GRAPH), graph(CONTEXT_GRAPH)
    crossing = 0
    for conflict in context.subjects(RDF.type, IJ.Conflict):
        members = set(context.objects(conflict, IJ.conflictingClaim))
        in_article = {m for m in members if (m, RDF.type, IJ.Claim) in article}
        in_context = {m for m in members if (m, RDF.type, IJ.Claim) in context}
        assert in_article | in_context == members, conflict
        crossing += bool(in_article and in_context)
    assert crossing >= 5


# ---- article vs context --------------------------------------------------------------------------------


def test_the_meeting_has_its_date_and_place_only_in_the_context() -> None:
    article, context = graph(ARTICLE_GRAPH), graph(CONTEXT_GRAPH)
    when_where = (
        IJ.startDate,
        IJ.endDate,
        IJ.place,
        IJ.occasion,
        IJ.onSidelinesOf,
        IJ.localStartTime,
    )
    assert (ARTICLE_MEETING, RDF.type, IJ.Meeting) in article
    for meeting in set(article.subjects(RDF.type, IJ.Meeting)):
        for p in when_where:
            assert article.value(meeting, p) is None, (meeting, p)
    assert str(context.value(ARTICLE_MEETING, IJ.startDate)) == "2025-11-23"
    assert context.value(ARTICLE_MEETING, IJ.place) is not None
    assert context.value(ARTICLE_MEETING, IJ.onSidelinesOf) is not None


def test_stated_counts_match_the_lists() -> None:
    g = merged()
    counted = list(g.subjects(IJ.statedCount, None))
    assert counted
    for collection in counted:
        head = g.value(collection, SKOS.memberList)
        assert head is not None, collection
        members = list(Collection(g, head))
        assert _int(g.value(collection, IJ.statedCount)) == len(members)
        assert set(g.objects(collection, SKOS.member)) == set(members)


def test_only_verified_wikidata_identifiers_are_used() -> None:
    seen = set()
    for g in (merged(), ontology()):
        for _s, p, o in g:
            if not str(o).startswith(WIKIDATA):
                continue
            qid = str(o).rsplit("/", 1)[-1]
            seen.add(qid)
            if p == RDF.object:  # a claim that reifies a link: the link itself is checked
                p = g.value(_s, RDF.predicate)
            if qid in MEDIUM_CLOSE_MATCH_ONLY:
                assert p == SKOS.closeMatch, (qid, p)
            else:
                assert qid in VERIFIED, f"{qid} is not a verified Wikidata identifier"
                assert p in (OWL.sameAs, SKOS.exactMatch, SKOS.closeMatch), (qid, p)
    assert {"Q668", "Q17", "Q1058", "Q1705028"} <= seen


def test_every_wikidata_link_has_its_own_evidence() -> None:
    """Each link to a Wikidata item is reified by a claim with evidence of where the identifier was
    verified, and a confidence."""
    g = merged()
    links = [
        (s, p, o)
        for p in (OWL.sameAs, SKOS.exactMatch, SKOS.closeMatch)
        for s, o in g.subject_objects(p)
        if str(o).startswith(WIKIDATA)
    ]
    assert len(links) >= 10
    for s, p, o in links:
        found = [
            claim
            for claim in g.subjects(RDF.object, o)
            if (claim, RDF.subject, s) in g and (claim, RDF.predicate, p) in g
        ]
        assert found, (s, p, o)
        for claim in found:
            evidence = list(g.objects(claim, IJ.evidence))
            assert evidence and all(g.value(e, RDFS.comment) for e in evidence), claim
            assert g.value(claim, IJ.confidence) is not None, claim

"""The graph layer of linked data on real stores: safe SPARQL building, entity JSON, keyset paging,
label search and the JSON Schemas generated from the shapes."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pyoxigraph as ox
import pytest

from ijkg.graph.core.errors import BadRequest, NotFound
from ijkg.graph.linked.entities import describe, entity_json
from ijkg.graph.linked.listing import COLLECTIONS, SORTS, Cursor, ListCache, list_entities
from ijkg.graph.linked.schemas import KIND_CLASSES, shape_properties
from ijkg.graph.linked.search import SearchIndex, normalise, search
from ijkg.graph.linked.vocabulary import Vocabulary, load_vocabulary
from ijkg.graph.sparql.build import (
    InvalidReference,
    entity_path_iri,
    parse_entity_ref,
    sparql_string,
)
from ijkg.graph.store.base import Delta
from tests.conftest import ENTITY_EVERY, SyncStore

ID = "https://w3id.org/ijkg/id/"

NASTY = [
    "plain",
    'a "quoted" word',
    "back\\slash",
    "\\",
    '\\"',
    "\\u0022 still text",
    "\\U0000003E",
    "new\nline\r\ttab",
    "\x00\x01\x1f\x7f",
    '"} ; DROP ALL ; SELECT * { "',
    "'single' '''triple'''",
    "ünïcödé – 日本 🇯🇵",
    "#comment",
    ">",
]


@pytest.fixture(scope="module")
def vocabulary(bundled_store: SyncStore) -> Vocabulary:
    return bundled_store.run(load_vocabulary, bundled_store.store)


@pytest.mark.parametrize("text", NASTY)
def test_a_string_reaches_the_store_exactly_as_given(bundled_store: SyncStore, text: str) -> None:
    rows = bundled_store.select(f"SELECT ?x WHERE {{ BIND({sparql_string(text)} AS ?x) }}")
    assert [str(r["x"]) for r in rows] == [text]


@pytest.mark.parametrize(
    ("kind", "slug"),
    [
        ("Pillar", "health"),
        ("pillar", "Health"),
        ("pillar", "a b"),
        ("pillar", "x>"),
        ("", "x"),
        ("pillar", "-x"),
        ("pillar", "x--y"),
        ("pillar", "x" * 201),
    ],
)
def test_entity_paths_that_cannot_name_an_entity_are_not_found(kind: str, slug: str) -> None:
    with pytest.raises(NotFound):
        entity_path_iri(kind, slug)


@pytest.mark.parametrize(
    "value", ["pillar", "pillar/", "/pillar/health", "pillar/health> }", "http://x/y"]
)
def test_malformed_references_are_refused(value: str) -> None:
    with pytest.raises(InvalidReference):
        parse_entity_ref(value)


def test_entity_json_types_its_values(bundled_store: SyncStore, vocabulary: Vocabulary) -> None:
    description = bundled_store.run(
        describe, bundled_store.store, ID + "amount/more-than-500000-personnel"
    )
    data = entity_json(description, vocabulary)
    assert data["quantity"] == {"minExclusive": 500000, "unit": "NUM", "approximate": False}
    assert data["properties"]["minExclusive"] == [500000]
    assert data["properties"]["surfaceText"] == ["more than 500,000 personnel"]
    assert data["type"] == "Quantity"
    (target,) = data["incoming"]["amount"]
    assert target["id"] == ID + "target/more-than-500000-personnel-exchange"
    with pytest.raises(NotFound):
        bundled_store.run(describe, bundled_store.store, ID + "pillar/no-such-pillar")


CLAIM_PREDICATES = {
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#subject",
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#object",
}


def test_incoming_leaves_out_the_claims_bookkeeping_unless_asked(
    bundled_store: SyncStore, vocabulary: Vocabulary
) -> None:
    japan = bundled_store.run(describe, bundled_store.store, ID + "state/japan")
    from_claims = [
        (p, s) for p, s in japan.incoming if s.startswith(ID + "claim/") and p in CLAIM_PREDICATES
    ]
    assert len(from_claims) > 20, "Japan is the subject or object of many claims"
    plain = entity_json(japan, vocabulary)
    assert "subject" not in plain["incoming"] and "object" not in plain["incoming"]
    linked = {item["id"] for items in plain["incoming"].values() for item in items}
    assert not {i for i in linked if i.split("/")[-2] in ("claim", "evidence", "selector")}
    assert ID + "person/sanae-takaichi" in {i["id"] for i in plain["incoming"]["represents"]}
    assert plain["incomingClaimLinks"] >= len(from_claims)
    full = entity_json(japan, vocabulary, include_claims=True)
    assert full["incomingClaimLinks"] == 0
    claims_in = {i["id"] for k in ("subject", "object") for i in full["incoming"][k]}
    assert claims_in == {s for _p, s in from_claims}
    total = sum(len(v) for v in full["incoming"].values())
    assert total == sum(len(v) for v in plain["incoming"].values()) + plain["incomingClaimLinks"]
    # Evidence keeps the claim it belongs to: that link is what it is.
    evidence = next(c for c in japan.claims if c.evidence).evidence[0].evidence
    described = bundled_store.run(describe, bundled_store.store, evidence)
    own = entity_json(described, vocabulary)
    assert own["incomingClaimLinks"] == 0 and own["incoming"]["evidence"]


def test_the_page_folds_each_statements_claims_under_its_row(
    bundled_store: SyncStore, vocabulary: Vocabulary
) -> None:
    from ijkg.graph.linked.entity_view import entity_view

    japan = bundled_store.run(describe, bundled_store.store, ID + "state/japan")
    view = entity_view(japan, vocabulary)
    rows = {row["label"]: row for row in view["incoming"]}
    assert "subject" not in rows and "object" not in rows
    represents = rows["represents"]["entries"]
    takaichi = [e for e in represents if e["id"] == ID + "person/sanae-takaichi"]
    # Said by two sources, in two graphs: one row, both claims under it.
    assert len(takaichi) == 1
    support = takaichi[0]["support"]
    assert len(support["claims"]) >= 2 and support["sources"] >= 2
    # Every value once per property, on both sides.
    for group in view["properties"] + view["incoming"]:
        keys = [e.get("id") or (e["text"], e["language"], e["datatype"]) for e in group["entries"]]
        assert len(keys) == len(set(keys)), group["label"]
    # Every claim is shown once: under its row, or among the other claims.
    shown = [
        c["iri"]
        for group in view["properties"] + view["incoming"]
        for e in group["entries"]
        if "support" in e
        for c in e["support"]["claims"]
    ] + [c["iri"] for g in view["other_claims"] for c in g["support"]["claims"]]
    assert sorted(shown) == sorted(c.iri for c in japan.claims)
    assert view["incoming_claim_links"] > 20


# --- paging ----------------------------------------------------------------------------------------


def all_pages(
    store: SyncStore,
    vocabulary: Vocabulary,
    name: str,
    sort: str,
    limit: int,
    cache: ListCache | None = None,
    **filters: str,
) -> tuple[list[dict[str, Any]], list[Any]]:
    items: list[dict[str, Any]] = []
    pages = []
    after = None
    while True:
        page = store.run(
            list_entities,
            store.store,
            vocabulary,
            COLLECTIONS[name],
            filters=filters,
            sort=sort,
            limit=limit,
            after=after,
            cache=cache,
        )
        pages.append(page)
        items += page.items
        if page.next is None:
            return items, pages
        after = page.next.encode()


def members(store: SyncStore, vocabulary: Vocabulary, name: str) -> set[str]:
    classes = set()
    for cls in COLLECTIONS[name].classes:
        classes |= vocabulary.descendants(cls)
    values = " ".join(f"<{c}>" for c in classes)
    rows = store.select(
        f'SELECT DISTINCT ?e WHERE {{ VALUES ?t {{ {values} }} ?e a ?t FILTER(STRSTARTS(STR(?e), "{ID}")) }}'
    )
    return {str(r["e"]) for r in rows}


@pytest.mark.parametrize("cached", [False, True], ids=["by-query", "by-sorted-keys"])
@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("name", ["claims", "concepts", "sources", "agreements"])
def test_paging_yields_every_entity_once_in_order(
    bundled_store: SyncStore, vocabulary: Vocabulary, name: str, sort: str, cached: bool
) -> None:
    expected = members(bundled_store, vocabulary, name)
    assert expected
    cache = ListCache() if cached else None
    items, pages = all_pages(bundled_store, vocabulary, name, sort, 7, cache)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) and set(ids) == expected
    keys = [(i["sortKey"], i["id"]) for i in items]
    assert keys == sorted(keys, reverse=sort.startswith("-"))
    if sort.endswith("label"):
        assert all(i["sortKey"] == i["label"].lower() for i in items if i["label"])
    assert all(len(p.items) == 7 for p in pages[:-1])
    # Backwards from the last page through the prev cursors: the same items, reversed order.
    back: list[str] = [i["id"] for i in pages[-1].items]
    before = pages[-1].prev
    while before is not None:
        page = bundled_store.run(
            list_entities,
            bundled_store.store,
            vocabulary,
            COLLECTIONS[name],
            sort=sort,
            limit=7,
            before=before.encode(),
            cache=cache,
        )
        back = [i["id"] for i in page.items] + back
        before = page.prev
    assert back == ids
    if cached:
        # The two ways give the same pages.
        by_query, _ = all_pages(bundled_store, vocabulary, name, sort, 7)
        assert [i["id"] for i in by_query] == ids


@pytest.mark.parametrize("cached", [False, True], ids=["by-query", "by-sorted-keys"])
def test_a_cursor_names_the_same_place_while_the_graph_changes(
    open_test_store: Any, cached: bool
) -> None:
    cache = ListCache() if cached else None
    store = open_test_store(bundle=True)
    vocabulary = store.run(load_vocabulary, store.store)
    listed = COLLECTIONS["concepts"]
    first = store.run(list_entities, store.store, vocabulary, listed, limit=10, cache=cache)
    assert first.next is not None
    token = first.next.encode()
    second = store.run(
        list_entities, store.store, vocabulary, listed, limit=10, after=token, cache=cache
    )
    # A concept that sorts before the cursor, and one after it, are added.
    graph = ox.NamedNode("https://w3id.org/ijkg/graph/curated")
    added = []
    for slug, label in (("aaa-first", "aaa first"), ("zzz-last", "zzz last")):
        node = ox.NamedNode(ID + "concept/" + slug)
        added += [
            ox.Quad(
                node,
                ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                ox.NamedNode("http://www.w3.org/2004/02/skos/core#Concept"),
                graph,
            ),
            ox.Quad(
                node,
                ox.NamedNode("http://www.w3.org/2004/02/skos/core#prefLabel"),
                ox.Literal(label, language="en"),
                graph,
            ),
        ]
    store.run(store.store.commit, Delta(adds=tuple(added)))
    again = store.run(
        list_entities, store.store, vocabulary, listed, limit=10, after=token, cache=cache
    )
    assert [i["id"] for i in again.items] == [i["id"] for i in second.items]
    assert again.version > second.version
    fresh = store.run(list_entities, store.store, vocabulary, listed, limit=10, cache=cache)
    assert fresh.items[0]["id"] == ID + "concept/aaa-first"


def test_filters(bundled_store: SyncStore, vocabulary: Vocabulary) -> None:
    def ids(name: str, **filters: str) -> set[str]:
        items, _ = all_pages(bundled_store, vocabulary, name, "label", 50, **filters)
        return {i["id"] for i in items}

    assert ID + "agreement/india-japan-joint-vision-for-the-next-decade" in ids(
        "agreements", pillar="pillar/health"
    )
    assert ids("agreements", pillar="pillar/health") < ids("agreements")
    japan_targets = ids("targets", actor="state/japan")
    assert ID + "target/jpy-10-trillion-private-investment" in japan_targets
    covering = ids("pillars", agreement="agreement/india-japan-joint-vision-for-the-next-decade")
    assert len(covering) == 8
    about = ids("claims", about="person/sanae-takaichi")
    subject = ids("claims", subject="person/sanae-takaichi")
    assert subject and subject <= about
    with pytest.raises(BadRequest):
        all_pages(bundled_store, vocabulary, "agreements", "label", 5, colour="red")
    with pytest.raises(BadRequest):
        all_pages(bundled_store, vocabulary, "agreements", "label", 5, pillar="x> } ; DROP ALL")


def test_forged_cursors_are_refused(bundled_store: SyncStore, vocabulary: Vocabulary) -> None:
    listed = COLLECTIONS["agreements"]
    for token in ("!!!", Cursor("id", "x", ID + "state/japan").encode(), "WyJsYWJlbCJd"):
        with pytest.raises(BadRequest):
            bundled_store.run(list_entities, bundled_store.store, vocabulary, listed, after=token)
    # A cursor whose key holds SPARQL: a string to compare with, nothing more.
    evil = Cursor("label", '"} ; DROP ALL ; #', ID + "agreement/x").encode()
    page = bundled_store.run(list_entities, bundled_store.store, vocabulary, listed, after=evil)
    assert isinstance(page.items, list)


# --- search ----------------------------------------------------------------------------------------


def test_search_ranks_exact_then_prefix_then_substring(
    bundled_store: SyncStore, vocabulary: Vocabulary
) -> None:
    index = SearchIndex()

    def found(text: str, **kwargs: Any) -> list[dict[str, Any]]:
        answer = bundled_store.run(search, bundled_store.store, index, vocabulary, text, **kwargs)
        results: list[dict[str, Any]] = answer["results"]
        return results

    japan = found("japan")
    assert japan[0]["id"] == ID + "state/japan" and japan[0]["match"] == "exact"
    order = {"exact": 0, "prefix": 1, "word": 2, "substring": 3}
    ranks = [order[r["match"]] for r in found("economic", limit=50)]
    assert ranks == sorted(ranks) and {1, 2} <= set(ranks)
    # Case and accents do not matter, on either side.
    assert found("AYURVÉDA")[0]["id"] == ID + "sector/ayurveda"
    # Full-width letters (NFKD compatibility forms) match their plain forms.
    fullwidth = "".join(chr(ord(c) - 0x61 + 0xFF41) for c in "ayurveda")
    assert found("ayurveda") == found(fullwidth)
    assert normalise("Économie") == normalise("ECONOMIE")
    # Claims only when asked for.
    assert all(r["kind"] != "claim" for r in found("japan", limit=100))
    assert any(r["kind"] == "claim" for r in found("japan", kinds=["claim"]))
    # Text that would be SPARQL elsewhere is just text here.
    assert found('"} ; DROP ALL #') == []
    with pytest.raises(BadRequest):
        found("   ")
    with pytest.raises(BadRequest):
        found("x" * 201)


# --- JSON Schemas ----------------------------------------------------------------------------------


def test_schemas_follow_the_shapes() -> None:
    agreement = shape_properties("agreement")
    assert "party" in agreement["required"]
    assert agreement["properties"]["party"]["items"]["$ref"] == "#/$defs/LinkedEntity"
    assert agreement["properties"]["pillarList"]["maxItems"] == 1
    pillar = shape_properties("pillar")
    assert pillar["properties"]["notation"]["minItems"] == 1
    assert pillar["properties"]["notation"]["maxItems"] == 1
    target = shape_properties("target")
    assert "setBy" not in target["required"], "a warning never requires"
    direction = target["properties"]["direction"]["items"]["allOf"][1]["properties"]["id"]["enum"]
    assert ID + "concept/direction-two-way" in direction
    event = shape_properties("event")
    assert event["properties"]["startDate"]["items"] == {"type": "string", "format": "date"}
    with pytest.raises(NotFound):
        shape_properties("unicorn")


def test_every_bundled_entity_matches_its_kinds_schema(
    bundled_store: SyncStore, vocabulary: Vocabulary
) -> None:
    from ijkg.service.models import EntityJson, LinkedEntity

    checked = 0
    for kind in KIND_CLASSES:
        rows = bundled_store.select(
            f'SELECT DISTINCT ?e WHERE {{ ?e ?p ?o FILTER(STRSTARTS(STR(?e), "{ID}{kind}/")) }}'
        )
        schema = EntityJson.model_json_schema(ref_template="#/$defs/{model}")
        defs = schema.pop("$defs", {})
        defs["LinkedEntity"] = LinkedEntity.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(defs["LinkedEntity"].pop("$defs", {}))
        schema["properties"]["properties"] = shape_properties(kind)
        schema["$defs"] = defs
        validator = jsonschema.Draft202012Validator(schema)
        for row in rows[::ENTITY_EVERY]:
            description = bundled_store.run(describe, bundled_store.store, str(row["e"]))
            data = json.loads(
                json.dumps(entity_json(description, vocabulary, include_evidence=True))
            )
            errors = [e.message for e in validator.iter_errors(data)]
            assert not errors, (str(row["e"]), errors[:3])
            # The service answers with the model's dump: it must keep every key, and add none.
            dumped = EntityJson.model_validate(data).model_dump(mode="json", exclude_unset=True)
            assert dumped == data, str(row["e"])
            checked += 1
    assert checked > 800 // ENTITY_EVERY


def test_an_entity_shows_the_changes_that_touched_it(open_test_store: Any) -> None:
    from ijkg.graph.curation.changes import Changes
    from ijkg.graph.curation.gate import Gate
    from ijkg.graph.linked.entity_view import entity_view

    store = open_test_store(bundle=True)
    vocabulary = store.run(load_vocabulary, store.store)
    health = ID + "pillar/health"
    before = store.run(describe, store.store, health)
    assert entity_view(before, vocabulary)["history"] == []
    changes = Changes(
        store.store, Gate(), max_quads=100, default_graph="https://w3id.org/ijkg/graph/curated"
    )
    quad = ox.Quad(
        ox.NamedNode(health),
        ox.NamedNode("http://www.w3.org/2004/02/skos/core#altLabel"),
        ox.Literal("Healthcare", language="en"),
        ox.NamedNode("https://w3id.org/ijkg/graph/curated"),
    )
    store.run(
        changes.write, Delta(adds=(quad,)), who="curator", via="load", title="Health's other name"
    )
    after = store.run(describe, store.store, health)
    (entry,) = entity_view(after, vocabulary)["history"]
    assert entry["label"] == "merge of Health's other name"
    assert entry["id"].startswith(ID + "merge/")
    # For people: to the minute, in UTC; for machines: ISO 8601 to the second, no fraction.
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC", entry["time"]["text"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", entry["time"]["iso"])
    data = entity_json(after, vocabulary)
    assert "Healthcare" in data["properties"]["altLabel"]
    assert [m["id"] for m in data["properties"]["changedBy"]] == [entry["id"]]
    # The merge itself is an entity too; its times read like the history's.
    merge = store.run(describe, store.store, entry["id"])
    (ended,) = [
        v
        for row in entity_view(merge, vocabulary)["properties"]
        if row["iri"] == "http://www.w3.org/ns/prov#endedAtTime"
        for v in row["entries"]
    ]
    assert ended["time"] == entry["time"]
    assert (health,) == tuple(s for p, s in merge.incoming if p.endswith("#changedBy"))

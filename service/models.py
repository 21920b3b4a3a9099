"""Pydantic models of the JSON the read routes return (the API, ``/health``): the handlers answer
with them, they document it in OpenAPI (``/docs``), and the tests validate real answers against
them. The per-kind JSON Schemas at ``/api/schemas/{kind}`` refine ``EntityJson.properties`` from
the SHACL shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENTITY_BASE = "https://w3id.org/ijkg/id/"


class Quantity(BaseModel):
    """The figures of an amount: an exact value or bounds, with a currency or a unit."""

    model_config = ConfigDict(extra="forbid")

    value: int | float | None = Field(None, description="The exact (or approximate) value.")
    minExclusive: int | float | None = Field(None, description="'More than' this value.")
    minInclusive: int | float | None = Field(None, description="'At least' this value.")
    maxExclusive: int | float | None = Field(None, description="'Less than' this value.")
    maxInclusive: int | float | None = Field(None, description="'At most' this value.")
    currency: str | None = Field(None, description="ISO 4217 code (QUDT currency), e.g. JPY.")
    unit: str | None = Field(None, description="QUDT unit, e.g. NUM for a count of people.")
    approximate: bool = Field(False, description="The source gives the amount as approximate.")


class LinkedEntity(BaseModel):
    """A linked resource: ``{id, label, type}``; ``kind`` for entities of this graph."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The IRI.", examples=[ENTITY_BASE + "state/japan"])
    label: str = Field(description="Its label (English).", examples=["Japan"])
    type: str | None = Field(
        None, description="Its most specific type (ijkg local name or CURIE).", examples=["State"]
    )
    kind: str | None = Field(None, description="The kind in its IRI.", examples=["state"])
    quantity: Quantity | None = None
    notation: str | None = Field(None, description="skos:notation (a pillar's number).")
    sortKey: str | None = Field(None, description="In lists: the key the list is sorted by.")
    matched: str | None = Field(None, description="In search results: the label that matched.")
    match: str | None = Field(
        None, description="In search results: exact, prefix, word or substring."
    )


class TypeRef(BaseModel):
    id: str
    name: str
    label: str


class EvidenceJson(BaseModel):
    """One source's evidence for a claim."""

    source: LinkedEntity | None
    sentence: str | None = Field(description="The exact sentence (or the source's wording).")
    segment: str | None = Field(description="Sentence id in a bundled source (S01 ...).")
    prefix: str | None = Field(description="Text just before the sentence.")
    suffix: str | None = Field(description="Text just after the sentence.")
    offset: int | None = Field(description="Code-point offset of the sentence in the source.")


class ClaimJson(BaseModel):
    """A claim that reifies a statement: how and where it is made."""

    claim: str
    label: str | None
    modality: LinkedEntity | None
    confidence: LinkedEntity | None
    curationStatus: LinkedEntity | None
    attributedTo: list[LinkedEntity | None]
    attributionText: str | None
    surfaceText: str | None = Field(description="The source's words for the value.")
    quotes: list[str]
    sources: list[LinkedEntity | None]
    evidence: list[EvidenceJson]


class StatementJson(BaseModel):
    """A statement about the entity, whether the graph asserts it, and its evidence."""

    property: str
    propertyIri: str
    direction: str = Field(description="out: entity -> value; in: value -> entity.")
    value: Any
    asserted: bool = Field(
        description="False for a claim whose triple the default view leaves out (the curators "
        "hold it disputed or cannot confirm it)."
    )
    claims: list[ClaimJson]


class EntityJson(BaseModel):
    """An entity as plain JSON."""

    id: str = Field(description="The entity's IRI.")
    kind: str = Field(description="The kind in its IRI (pillar, agreement, state ...).")
    type: str | None = Field(description="Its most specific type.")
    types: list[TypeRef]
    label: str
    description: str | None
    properties: dict[str, list[Any]] = Field(
        description="Property term -> values: numbers as numbers, booleans as booleans, dates "
        "and durations as ISO strings, text as strings, links as LinkedEntity objects."
    )
    incoming: dict[str, list[LinkedEntity]] = Field(
        description="Property term -> the entities that link to this one with it; links from "
        "claims, evidence and selectors (rdf:subject, rdf:object, ijkg:about ...) only with "
        "?include=claims."
    )
    incomingTruncated: bool
    incomingClaimLinks: int = Field(
        description="How many links from claims, evidence and selectors `incoming` leaves out "
        "(0 with ?include=claims, and for a claim, evidence or selector itself)."
    )
    links: dict[str, str] = Field(description="This entity in every representation.")
    version: int = Field(description="The graph version the answer was read at.")
    current: str | None = Field(
        None,
        description="With version= or Accept-Datetime: where the entity is now (the answer is "
        "of an older version).",
    )
    quantity: Quantity | None = None
    statements: list[StatementJson] | None = Field(
        None, description="With ?include=evidence: the evidence of every reified statement."
    )
    claimsAbout: list[ClaimJson] | None = None


class PageJson(BaseModel):
    """One page of a list, with cursors (also in the ``Link`` header)."""

    collection: str
    sort: str
    limit: int
    filters: dict[str, str]
    items: list[LinkedEntity]
    next: str | None = Field(description="URL of the next page, if any.")
    prev: str | None = Field(description="URL of the previous page, if any.")
    version: int


class SearchJson(BaseModel):
    query: str
    normalised: str
    version: int
    results: list[LinkedEntity]


class FilterJson(BaseModel):
    description: str = Field(description="What the filter keeps.")
    example: str = Field(description="A value to try (an entity's kind/slug).")


class ListJson(BaseModel):
    """A list of the API, its filters and where it is."""

    name: str
    title: str
    description: str
    classes: list[str] = Field(description="The classes (CURIEs) whose instances it lists.")
    filters: dict[str, FilterJson]
    url: str


class ApiIndexJson(BaseModel):
    """What the API offers: its lists, and where search, entities and schemas are."""

    lists: list[ListJson]
    search: str
    entity: str = Field(description="URL template of an entity's JSON.")
    schemas: str
    context: str = Field(description="The JSON-LD context of the entity documents.")
    sorts: list[str]


class KindSchemaRef(BaseModel):
    classes: list[str] = Field(description="The classes (CURIEs) of the kind.")
    url: str = Field(description="Its JSON Schema.")


class SchemasJson(BaseModel):
    """The JSON Schema of each kind's entity JSON."""

    schemas: dict[str, KindSchemaRef]


class LivenessJson(BaseModel):
    """The service process answers (no question to the store)."""

    status: str = Field(description="ok, or unavailable when the process knows its store is down.")
    problems: list[str] = Field(description="Why the store cannot answer, in sentences.")
    worker: int = Field(description="The id of the service process that answered.")
    bundle: str = Field(description="The version of the bundled graph (a digest).")


class HealthJson(BaseModel):
    """Readiness: the store's state."""

    status: str = Field(description="ok, degraded or unavailable.")
    problems: list[str] = Field(description="What needs an operator, in sentences.")
    worker: int = Field(description="The id of the service process that answered.")
    store: dict[str, Any] = Field(
        description="The store's kind, id, version, size, whether it takes writes, and details."
    )
    bundle: str = Field(description="The version of the bundled graph (a digest).")
    validation: dict[str, int] | None = Field(
        None, description="The validation processes (POST /validate): running, idle, replaced."
    )


EXAMPLE_ENTITY: dict[str, Any] = {
    "id": ENTITY_BASE + "target/jpy-10-trillion-private-investment",
    "kind": "target",
    "type": "Target",
    "types": [{"id": "https://w3id.org/ijkg/ontology#Target", "name": "Target", "label": "target"}],
    "label": "¥10 trillion of private investment in India over the next decade",
    "description": None,
    "properties": {
        "amount": [
            {
                "id": ENTITY_BASE + "amount/jpy-10-trillion",
                "label": "¥10 trillion",
                "type": "MonetaryAmount",
                "kind": "amount",
                "quantity": {"value": 10000000000000, "currency": "JPY", "approximate": False},
            }
        ],
        "recipient": [
            {"id": ENTITY_BASE + "state/india", "label": "India", "type": "State", "kind": "state"}
        ],
    },
    "incoming": {
        "hasTarget": [
            {
                "id": ENTITY_BASE + "agreement/india-japan-joint-vision-for-the-next-decade",
                "label": "India–Japan Joint Vision for the Next Decade",
                "type": "BilateralAgreement",
                "kind": "agreement",
            }
        ]
    },
    "incomingTruncated": False,
    "incomingClaimLinks": 17,
    "links": {"turtle": "/id/target/jpy-10-trillion-private-investment?format=turtle"},
    "version": 3,
}


# --- changes: the curator's workflow (/changes, /update, /store) -----------------------------


class ResultOut(BaseModel):
    severity: str
    focusNode: str
    focusLabel: str | None
    path: str | None
    value: str | None
    message: str
    expected: str
    found: str
    suggestion: str | None
    shape: str
    sourceShape: str
    constraint: str
    details: list[str]


class ReportOut(BaseModel):
    conforms: bool
    violations: int
    warnings: int
    method: str = Field(description="incremental, mixed or whole-graph")
    focusNodes: int
    neighbourhoodTriples: int
    shapesValidatedOnTheWholeGraph: dict[str, str]
    results: list[ResultOut]


class MergeOut(BaseModel):
    id: str
    who: str
    started: str
    ended: str
    versionBefore: int
    versionAfter: int
    report: dict[str, Any]


class ChangeOut(BaseModel):
    id: str
    iri: str
    title: str
    description: str
    source: str | None
    author: str
    created: str
    status: str
    writePath: str
    targetGraph: str | None
    reverts: str | None
    revertedBy: str | None
    rejectionReason: str | None = Field(
        None, description='Why a rejected change was rejected ("" when no reason was given).'
    )
    merge: MergeOut | None


class ChangeDetail(ChangeOut):
    additions: str = Field(description="The quads the change adds, as N-Quads.")
    removals: str = Field(description="The quads the change removes, as N-Quads.")
    report: ReportOut | None = Field(
        None, description="Validation against the graph as it is now (proposed changes)."
    )


class WhoAmIOut(BaseModel):
    """The writer a token stands for (a page checks a curator's token as they sign in)."""

    name: str = Field(description="The token's name: the author of the changes made with it.")
    admin: bool = Field(description="Whether it may also write the ontology, shapes and history.")


class WrittenOut(ChangeOut):
    """A change applied on arrival or by a merge or a revert, with the report that cleared it."""

    report: ReportOut

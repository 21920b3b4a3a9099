"""JSON Schemas of the plain entity JSON, one per kind, generated from the SHACL shapes.

For the class of a kind (``agreement`` -> ``ijkg:Agreement``) every node shape that targets it or
one of its superclasses (``sh:targetClass``, the ontology's ``rdfs:subClassOf``) contributes its
property shapes with a plain path: the key is the property's JSON term, ``sh:minCount`` and
``sh:maxCount`` become ``minItems``/``maxItems`` (a violation-severity ``sh:minCount`` also makes
the key required), ``sh:class``, ``sh:nodeKind sh:IRI`` and ``sh:in`` make the values links (with
the allowed IRIs as an ``enum``), ``sh:datatype`` gives the JSON type (integers, numbers, booleans,
dates as ``format: date`` strings). Shapes with warning severity only describe; they never
require. Everything else a shape says (``sh:or``, qualified counts, SPARQL) stays with SHACL.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any, Final

from rdflib import RDF, RDFS, Graph, Literal, URIRef
from rdflib.collection import Collection as RdfList
from rdflib.namespace import SH, SKOS, XSD

from ijkg.graph.core.errors import NotFound
from ijkg.graph.core.namespaces import IJKG, PREFIXES
from ijkg.graph.linked.jsonld import context_terms
from ijkg.graph.linked.vocabulary import curie

OA: Final = PREFIXES["oa"]

#: The class of the entities of each kind (the kind is the first segment of the IRI path); a kind
#: whose entities are of one of several classes lists them all.
KIND_CLASSES: Final[dict[str, str | tuple[str, ...]]] = {
    "state": IJKG + "State",
    "person": IJKG + "Person",
    "post": IJKG + "Post",
    "tenure": IJKG + "Tenure",
    "participation": IJKG + "Participation",
    "organization": IJKG + "Organization",
    "place": IJKG + "Place",
    "partnership": IJKG + "Partnership",
    "agreement": IJKG + "Agreement",
    "initiative": IJKG + "Initiative",
    "cooperation": IJKG + "CooperationArea",
    "goal": IJKG + "Goal",
    "target": IJKG + "Target",
    "amount": IJKG + "Amount",
    "period": IJKG + "Period",
    "meeting": IJKG + "Meeting",
    "event": IJKG + "Event",
    "quote": IJKG + "Quotation",
    "source": IJKG + "Source",
    "claim": IJKG + "Claim",
    "evidence": IJKG + "Evidence",
    "selector": (
        OA + "TextQuoteSelector",
        OA + "TextPositionSelector",
        OA + "DataPositionSelector",
    ),
    "conflict": IJKG + "Conflict",
    "pillar": IJKG + "Pillar",
    "sector": IJKG + "Sector",
    "concept": str(SKOS.Concept),
    "scheme": str(SKOS.ConceptScheme),
    "collection": str(SKOS.OrderedCollection),
}

_DATATYPES: Final[dict[str, dict[str, Any]]] = {
    str(XSD.integer): {"type": "integer"},
    str(XSD.decimal): {"type": "number"},
    str(XSD.double): {"type": "number"},
    str(XSD.float): {"type": "number"},
    str(XSD.boolean): {"type": "boolean"},
    str(XSD.date): {"type": "string", "format": "date"},
    str(XSD.dateTime): {"type": "string", "format": "date-time"},
    str(XSD.time): {"type": "string", "format": "time"},
    str(XSD.duration): {"type": "string", "format": "duration"},
    str(XSD.gYear): {"type": "string", "pattern": "^-?[0-9]{4,}$"},
    str(XSD.string): {"type": "string"},
    str(RDF.langString): {"type": "string"},
    str(XSD.anyURI): {"type": "string", "format": "uri"},
}

LINK_REF: Final = "#/$defs/LinkedEntity"


@cache
def _graphs() -> tuple[Graph, Graph]:
    ontology = Graph()
    for entry in sorted(files("ijkg.ontology").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".ttl"):
            ontology.parse(data=entry.read_text(encoding="utf-8"), format="turtle")
    shapes = Graph()
    shapes.parse(
        data=(files("ijkg.shapes") / "ijkg-shapes.ttl").read_text(encoding="utf-8"),
        format="turtle",
    )
    return ontology, shapes


def _superclasses(ontology: Graph, cls: URIRef) -> set[URIRef]:
    seen = {cls}
    todo = [cls]
    while todo:
        for parent in ontology.objects(todo.pop(), RDFS.subClassOf):
            if isinstance(parent, URIRef) and parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _one(graph: Graph, node: Any, predicate: URIRef) -> Any:
    return next(iter(graph.objects(node, predicate)), None)


def _text(graph: Graph, node: Any, predicate: URIRef) -> str | None:
    value = _one(graph, node, predicate)
    return str(value) if value is not None else None


def _value_schema(shapes: Graph, shape: Any) -> dict[str, Any]:
    datatype = _one(shapes, shape, SH.datatype)
    if datatype is not None:
        return dict(_DATATYPES.get(str(datatype), {"type": "string"}))
    members = _one(shapes, shape, SH["in"])
    if members is not None:
        values = list(RdfList(shapes, members))
        if values and all(isinstance(v, URIRef) for v in values):
            return {
                "allOf": [
                    {"$ref": LINK_REF},
                    {"properties": {"id": {"enum": sorted(str(v) for v in values)}}},
                ]
            }
        if values and all(isinstance(v, Literal) for v in values):
            return {
                "enum": sorted({v.toPython() for v in values if isinstance(v, Literal)}, key=str)
            }
    cls = _one(shapes, shape, SH["class"])
    if cls is not None:
        return {"$ref": LINK_REF, "description": f"a {curie(str(cls))}"}
    if _one(shapes, shape, SH.nodeKind) == SH.IRI:
        return {"$ref": LINK_REF}
    if _one(shapes, shape, SH.nodeKind) == SH.Literal:
        return {"type": ["string", "number", "boolean"]}
    return {}


def _class_properties(cls: str) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Property schemas and required keys of instances of ``cls``."""
    ontology, shapes = _graphs()
    classes = _superclasses(ontology, URIRef(cls))
    terms = context_terms()
    props: dict[str, dict[str, Any]] = {}
    required: set[str] = set()
    # Shapes for every instance of the class, and shapes for any node that has some property:
    # those constrain the property when it is there, and never require anything.
    node_shapes = [(s, True) for c in classes for s in shapes.subjects(SH.targetClass, c)]
    node_shapes += [(s, False) for s in set(shapes.subjects(SH.targetSubjectsOf, None))]
    for node_shape, unconditional in sorted(set(node_shapes), key=lambda x: (str(x[0]), x[1])):
        for prop_shape in shapes.objects(node_shape, SH.property):
            path = _one(shapes, prop_shape, SH.path)
            if not isinstance(path, URIRef) or path == RDF.type:
                continue
            if not unconditional and path not in set(
                shapes.objects(node_shape, SH.targetSubjectsOf)
            ):
                continue
            key = terms.get(str(path)) or curie(str(path))
            severity = _one(shapes, prop_shape, SH.severity) or _one(
                shapes, node_shape, SH.severity
            )
            entry = props.setdefault(
                key, {"type": "array", "items": {}, "x-property": str(path), "x-shapes": []}
            )
            if str(prop_shape) not in entry["x-shapes"]:
                entry["x-shapes"].append(str(prop_shape))
            item = _value_schema(shapes, prop_shape)
            if item and not entry["items"]:
                entry["items"] = item
            description = _text(shapes, prop_shape, SH.description)
            if description and "description" not in entry:
                entry["description"] = description
            if severity == SH.Warning:
                continue
            min_count = _one(shapes, prop_shape, SH.minCount)
            max_count = _one(shapes, prop_shape, SH.maxCount)
            if unconditional and min_count is not None and int(min_count) > 0:
                entry["minItems"] = max(entry.get("minItems", 0), int(min_count))
                required.add(key)
            if max_count is not None:
                entry["maxItems"] = min(entry.get("maxItems", 1 << 30), int(max_count))
    for entry in props.values():
        entry["x-shapes"].sort()
    return props, required


def shape_properties(kind: str) -> dict[str, Any]:
    """The JSON Schema of the ``properties`` member of an entity of ``kind``."""
    found = KIND_CLASSES.get(kind)
    if found is None:
        raise NotFound(f"no schema for kind {kind!r}; the kinds are {', '.join(KIND_CLASSES)}")
    classes = (found,) if isinstance(found, str) else found
    props: dict[str, dict[str, Any]] = {}
    required: set[str] | None = None
    for cls in classes:
        these, needed = _class_properties(cls)
        for key, entry in these.items():
            props.setdefault(key, entry)
        required = needed if required is None else required & needed
    required = required or set()
    if len(classes) > 1:
        # What only some of the classes require is optional for the kind.
        for key, entry in props.items():
            if key not in required:
                entry.pop("minItems", None)
    return {
        "type": "object",
        "description": "Property term -> values, as the SHACL shapes for "
        + " or ".join(curie(c) for c in classes)
        + " (and superclasses) constrain them; other properties may appear.",
        "properties": dict(sorted(props.items())),
        "required": sorted(required),
        "additionalProperties": {"type": "array"},
    }

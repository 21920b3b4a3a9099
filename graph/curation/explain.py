"""SHACL results a person can act on: labels, what was expected, what was found, and a fix.

A raw SHACL result says which constraint failed on which node. Curators also need to know what the
node is called, what the shape wanted (read from the shape itself), what the graph has instead, and,
where the graph knows better, a concrete fix — such as the closest existing concept when a value is
not an instance of the expected class.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH, XSD
from rdflib.term import Node
from rdflib.util import from_n3

from ijkg.graph.core.reports import ValidationReport, ValidationResult
from ijkg.graph.core.terms import to_rdflib
from ijkg.graph.curation.gate import GateReport
from ijkg.graph.store.base import Store

_LABELS = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#altLabel",
)


@dataclass(frozen=True)
class Explained:
    result: ValidationResult
    focus_label: str | None
    expected: str
    found: str
    suggestion: str | None

    def as_json(self) -> dict[str, Any]:
        r = self.result
        return {
            "severity": r.severity,
            "focusNode": r.focus_node.strip("<>"),
            "focusLabel": self.focus_label,
            "path": r.path.strip("<>") if r.path else None,
            "value": r.value,
            "message": r.message,
            "expected": self.expected,
            "found": self.found,
            "suggestion": self.suggestion,
            "sourceShape": r.source_shape.strip("<>"),
            "shape": _shape_id(r.source_shape),
            "constraint": r.constraint.rsplit("#", 1)[-1],
            "details": [d.message for d in r.details],
        }


def _shape_id(n3: str) -> str:
    """``<https://w3id.org/ijkg/shapes#S07-Target-amount>`` -> ``S07-Target-amount``."""
    return n3.strip("<>").rsplit("#", 1)[-1]


def _term(n3: str | None) -> Node | None:
    if not n3:
        return None
    try:
        term = from_n3(n3)
    except (ValueError, KeyError):
        return None
    return term if isinstance(term, Node) else None


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%d %B %Y",
    "%d %b %Y",
    "%B %d, %Y",
    "%b %d, %Y",
    "%B %d %Y",
    "%d/%m/%Y",
    "%Y/%m/%d",
    "%d.%m.%Y",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
)


def _short(datatype: str) -> str:
    return (
        "xsd:" + datatype.removeprefix(str(XSD))
        if datatype.startswith(str(XSD))
        else f"<{datatype}>"
    )


def _as_datatype(text: str, datatype: str) -> str | None:
    """``text`` written as a literal of ``datatype``, when it can be read as one."""
    text = text.strip()
    if datatype == str(XSD.date):
        for pattern in _DATE_FORMATS:
            try:
                day = datetime.strptime(text, pattern)
            except ValueError:
                continue
            return f'"{day.date().isoformat()}"^^xsd:date'
        return None
    if datatype in (str(XSD.integer), str(XSD.decimal)):
        digits = text.replace(",", "").replace("_", "")
        try:
            number = Decimal(digits)
        except ArithmeticError:
            return None
        if datatype == str(XSD.integer) and number != number.to_integral_value():
            return None
        shown = str(int(number)) if datatype == str(XSD.integer) else str(number)
        return f'"{shown}"^^{_short(datatype)}'
    return f'"{text}"^^{_short(datatype)}'


def _local(iri: str) -> str:
    return re.split(r"[/#]", iri.rstrip("/#"))[-1]


class Explainer:
    """Explains results of validations against one shapes graph, reading labels from a store."""

    def __init__(self, shapes: Graph) -> None:
        self.shapes = shapes

    def _shape_node(self, result: ValidationResult) -> Node | None:
        return _term(result.source_shape)

    def _param(self, result: ValidationResult, name: str) -> Node | None:
        shape = self._shape_node(result)
        return None if shape is None else self.shapes.value(shape, SH[name])

    async def _labels(
        self, store: Store, nodes: set[str], submitted: Graph | None
    ) -> dict[str, str]:
        labels: dict[str, str] = {}
        if submitted is not None:
            for predicate in reversed(_LABELS):
                for s, o in submitted.subject_objects(URIRef(predicate)):
                    labels[str(s)] = str(o)
        wanted = [n for n in nodes if n not in labels and n.startswith(("http://", "https://"))]
        if wanted:
            values = " ".join(f"<{n}>" for n in wanted if ">" not in n and " " not in n)
            rows = await store.select(
                f"""SELECT ?node ?label WHERE {{ VALUES ?node {{ {values} }}
                      VALUES ?p {{ {" ".join(f"<{p}>" for p in _LABELS)} }}
                      ?node ?p ?label FILTER(isLiteral(?label)) }}"""
            )
            for row in rows:
                labels.setdefault(str(row["node"]), str(row["label"]))
        return labels

    async def _closest(self, store: Store, cls: str, wanted: str) -> str | None:
        """The instance of ``cls`` whose label or name is closest to ``wanted``."""
        if ">" in cls or " " in cls:
            return None
        rows = await store.select(
            f"""SELECT ?node ?label WHERE {{
                  ?node a/<http://www.w3.org/2000/01/rdf-schema#subClassOf>* <{cls}> .
                  OPTIONAL {{ ?node <{_LABELS[0]}>|<{_LABELS[1]}>|<{_LABELS[2]}> ?label }} }}
                LIMIT 5000"""
        )
        names: dict[str, str] = {}
        for row in rows:
            node = str(row["node"])
            names[str(row.get("label", _local(node))).lower()] = node
            names.setdefault(_local(node).lower().replace("-", " "), node)
        match = difflib.get_close_matches(
            wanted.lower().replace("-", " "), list(names), n=1, cutoff=0.4
        )
        return names[match[0]] if match else None

    async def explain(
        self, store: Store, report: ValidationReport, submitted: Graph | None = None
    ) -> list[Explained]:
        nodes = {r.focus_node.strip("<>") for r in report.results}
        nodes |= {
            r.value.strip("<>") for r in report.results if r.value and r.value.startswith("<")
        }
        labels = await self._labels(store, nodes, submitted)
        explained = []
        for result in report.results:
            expected, found, suggestion = await self._describe(store, result, labels)
            explained.append(
                Explained(
                    result, labels.get(result.focus_node.strip("<>")), expected, found, suggestion
                )
            )
        return explained

    async def _describe(
        self, store: Store, result: ValidationResult, labels: dict[str, str]
    ) -> tuple[str, str, str | None]:
        component = result.constraint.rsplit("#", 1)[-1].removesuffix("ConstraintComponent")
        path = result.path.strip("<>") if result.path else "the node"
        value = result.value or "nothing"
        value_iri = (
            result.value.strip("<>") if result.value and result.value.startswith("<") else None
        )
        if component == "Class":
            cls = self._param(result, "class")
            name = _local(str(cls)) if cls is not None else "the expected class"
            found = f"{value} ({labels.get(value_iri or '', 'no label')}), not a {name}"
            suggestion = None
            if cls is not None:
                wanted = labels.get(value_iri or "", _local(value_iri or value))
                closest = await self._closest(store, str(cls), wanted)
                if closest:
                    suggestion = f"use <{closest}>, the closest existing {name}"
            return f"an instance of {name} (<{cls}>)", found, suggestion
        if component == "Datatype":
            datatype = self._param(result, "datatype")
            suggestion = None
            literal = _term(result.value)
            if isinstance(literal, Literal) and datatype is not None:
                written = _as_datatype(str(literal), str(datatype))
                if written is not None:
                    suggestion = f"write {written}"
            return f"a literal of datatype {_short(str(datatype))}", value, suggestion
        if component == "MinCount":
            n = self._param(result, "minCount")
            return f"at least {n} value(s) of <{path}>", "fewer", f"add a <{path}> value"
        if component == "MaxCount":
            n = self._param(result, "maxCount")
            return f"at most {n} value(s) of <{path}>", "more", f"remove the extra <{path}> values"
        if component == "In":
            members = self._param(result, "in")
            options = list(self.shapes.items(members)) if members is not None else []
            near = difflib.get_close_matches(value, [o.n3() for o in options], n=1, cutoff=0.3)
            shown = ", ".join(o.n3() for o in options[:12])
            return f"one of {shown}", value, (f"use {near[0]}" if near else None)
        if component == "NodeKind":
            kind = self._param(result, "nodeKind")
            return f"a {_local(str(kind))}", value, None
        if component == "Pattern":
            return f"text matching {self._param(result, 'pattern')}", value, None
        if component == "LanguageIn":
            return f"a language tag in {self._param(result, 'languageIn')}", value, None
        if component == "HasValue":
            return f"the value {self._param(result, 'hasValue')}", "it is missing", None
        if component == "Node":
            details = "; ".join(d.message for d in result.details) or "see the nested shape"
            return f"a node that conforms to {self._param(result, 'node')}", value, details
        return result.message, value, None


def submitted_graph(quads: list[Any]) -> Graph:
    """The triples of a submission as an rdflib graph (for labels it brings itself)."""
    graph = Graph()
    for quad in quads:
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


def gate_report_json(gate: GateReport, explained: list[Explained]) -> dict[str, Any]:
    """A gate's report as the JSON the service answers with: the verdict, how it was obtained,
    and every result explained."""
    return {
        "conforms": gate.conforms,
        "violations": len(gate.report.violations),
        "warnings": len(gate.report.warnings),
        **gate.describe(),
        "results": [e.as_json() for e in explained],
    }

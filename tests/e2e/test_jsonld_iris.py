"""The JSON-LD of an entity names other entities by their IRIs (their addresses), never by a
compact ``id:pillar/health``, and the context at /context.jsonld declares no prefix that would
write one; vocabulary terms stay short."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Service

ID = "https://w3id.org/ijkg/id/"


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() if key != "@context" for s in strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in strings(item)]
    return []


def test_entity_iris_are_written_whole(service: Service) -> None:
    with service.client() as client:
        document = client.get("/id/state/japan", headers={"Accept": "application/ld+json"}).json()
        context = client.get("/context.jsonld").json()["@context"]
    assert "id" not in context
    assert context["ijkg"] == "https://w3id.org/ijkg/ontology#"
    values = strings(document)
    assert not [v for v in values if v.startswith("id:")]
    assert ID + "state/japan" in values
    nodes = document["@graph"]
    japan = next(n for n in nodes if n["@id"] == ID + "state/japan")
    assert any(key in japan for key in ("prefLabel", "label")), json.dumps(japan)[:300]

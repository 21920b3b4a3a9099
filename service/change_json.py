"""The JSON of changes the write routes answer with (its models are in ``models``)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from ijkg.graph import Change, ChangeDiff, Written
from ijkg.service.etags import graph_etag


def change_out(change: Change) -> dict[str, Any]:
    merge = change.merge
    return {
        "id": change.slug,
        "iri": change.iri,
        "title": change.title,
        "description": change.description,
        "source": change.source,
        "author": change.author,
        "created": change.created,
        "status": change.status,
        "writePath": change.write_path,
        "targetGraph": change.target_graph,
        "reverts": change.reverts,
        "revertedBy": change.reverted_by,
        "merge": None
        if merge is None
        else {
            "id": merge.iri,
            "who": merge.who,
            "started": merge.started,
            "ended": merge.ended,
            "versionBefore": merge.version_before,
            "versionAfter": merge.version_after,
            "report": merge.report,
        },
    }


def detail_out(detail: ChangeDiff) -> dict[str, Any]:
    body = change_out(detail.change)
    body["additions"] = detail.additions
    body["removals"] = detail.removals
    body["report"] = detail.report
    return body


def written_response(written: Written) -> Response:
    """A write's answer: its change record with the report, tagged with the graph's version."""
    body = change_out(written.change)
    body["report"] = written.report
    return JSONResponse(body, headers={"ETag": graph_etag(written.store_id, written.version)})

"""The changes the write routes answer with, as the models that document them (``models``)."""

from __future__ import annotations

from starlette.responses import Response

from ijkg.graph import Change, ChangeDiff, Written
from ijkg.service.etags import graph_etag
from ijkg.service.models import ChangeDetail, ChangeOut, MergeOut, ReportOut, WrittenOut


def change_out(change: Change) -> ChangeOut:
    """A change's record: what it is, who wrote it, where it is in its life."""
    merge = change.merge
    return ChangeOut(
        id=change.slug,
        iri=change.iri,
        title=change.title,
        description=change.description,
        source=change.source,
        author=change.author,
        created=change.created,
        status=change.status,
        writePath=change.write_path,
        targetGraph=change.target_graph,
        reverts=change.reverts,
        revertedBy=change.reverted_by,
        rejectionReason=change.reason,
        merge=None
        if merge is None
        else MergeOut(
            id=merge.iri,
            who=merge.who,
            started=merge.started,
            ended=merge.ended,
            versionBefore=merge.version_before,
            versionAfter=merge.version_after,
            report=merge.report,
        ),
    )


def detail_out(detail: ChangeDiff) -> ChangeDetail:
    """A change with its diff as N-Quads and, while proposed, its report as of now."""
    return ChangeDetail(
        **dict(change_out(detail.change)),
        additions=detail.additions,
        removals=detail.removals,
        report=None if detail.report is None else ReportOut.model_validate(detail.report),
    )


def written_out(written: Written, response: Response) -> WrittenOut:
    """A write's answer: its change record with the report; ``response`` is tagged with the
    graph's version after it."""
    response.headers["ETag"] = graph_etag(written.store_id, written.version)
    return WrittenOut(
        **dict(change_out(written.change)), report=ReportOut.model_validate(written.report)
    )

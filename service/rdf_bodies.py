"""RDF in request bodies: which media types are RDF."""

from __future__ import annotations

from ijkg.graph import UnsupportedFormat, bare_media_type, rdf_syntax_for_media_type


def is_rdf(media_type: str) -> bool:
    """True for an RDF media type (``application/json`` is a change document, not JSON-LD)."""
    if bare_media_type(media_type) == "application/json":
        return False
    try:
        rdf_syntax_for_media_type(media_type)
    except UnsupportedFormat:
        return False
    return True

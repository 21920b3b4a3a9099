"""``Writer``: who asks for a write, as the graph layer's permission checks see them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Writer:
    """Who is writing (the ``who`` of the change), and whether they hold the admin role (which
    alone may write the ontology, the shapes and the project's own terms)."""

    name: str
    admin: bool

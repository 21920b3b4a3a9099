"""The neighbourhood picture of an entity page: a small SVG drawn on the server.

The entity sits in the middle; its neighbours are spread on an ellipse around it, each joined to it
by a line labelled with the properties that link them (an arrow shows which way), and each is a
link to its own page. No script, no external font: it is part of the page's HTML.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Final

from ijkg.service.linked import href

WIDTH: Final = 760
HEIGHT: Final = 460
_CX: Final = WIDTH / 2
_CY: Final = HEIGHT / 2
_RX: Final = 280
_RY: Final = 185


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def neighbourhood_svg(picture: dict[str, Any]) -> str:
    """The SVG (as markup to put in a page) of ``entity_view(...)["picture"]``."""
    nodes = picture["nodes"]
    center = picture["center"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="ijkg-picture" role="img" aria-labelledby="ijkg-picture-title">',
        f'<title id="ijkg-picture-title">{escape(center["label"])} and its neighbours</title>',
        "<defs>"
        '<marker id="ijkg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" '
        'class="ijkg-arrow"/></marker></defs>',
    ]
    count = max(len(nodes), 1)
    placed = []
    for i, node in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / count
        x = _CX + _RX * math.cos(angle)
        y = _CY + _RY * math.sin(angle)
        placed.append((node, x, y))
    for node, x, y in placed:
        outward = "out" in node["directions"]
        inward = "in" in node["directions"]
        # Lines stop short of the boxes so the arrow heads show.
        dx, dy = x - _CX, y - _CY
        length = math.hypot(dx, dy) or 1.0
        x1, y1 = _CX + dx / length * 60, _CY + dy / length * 24
        x2, y2 = x - dx / length * 70, y - dy / length * 18
        markers = ""
        if outward:
            markers += ' marker-end="url(#ijkg-arrow)"'
        if inward:
            markers += ' marker-start="url(#ijkg-arrow)"'
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'class="ijkg-edge"{markers}/>'
        )
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        parts.append(
            f'<text x="{mx:.1f}" y="{my - 3:.1f}" class="ijkg-edge-label">'
            f"{escape(_short(', '.join(node['properties']), 30))}</text>"
        )
    for node, x, y in placed:
        label = node["label"]
        parts.append(
            f'<a href="{escape(href(node["id"]), quote=True)}" class="ijkg-node">'
            f"<title>{escape(label)} ({escape(node.get('type') or 'resource')})</title>"
            f'<rect x="{x - 75:.1f}" y="{y - 16:.1f}" width="150" height="32" rx="6"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}">{escape(_short(label, 24))}</text></a>'
        )
    parts.append(
        f'<g class="ijkg-center"><rect x="{_CX - 95:.1f}" y="{_CY - 22:.1f}" width="190" '
        f'height="44" rx="8"/><text x="{_CX:.1f}" y="{_CY + 5:.1f}">'
        f"{escape(_short(center['label'], 30))}</text></g>"
    )
    parts.append("</svg>")
    return "".join(parts)

"""The neighbourhood picture of an entity page: a small SVG drawn on the server.

The entity sits in the middle; its neighbours are spread on an ellipse around it, each joined to it
by a line labelled with the properties that link them (an arrow shows which way), and each is a
link to its own page. No script, no external font: it is part of the page's HTML.

The markup is built as an element tree (the standard library's ``xml.etree``), so every label and
link is escaped by construction. A plotting library does not fit: the picture is a dozen boxes,
lines and links placed by two formulas, and the service has no plotting dependency (matplotlib is
a benchmark extra, for charts, and would draw no links).
"""

from __future__ import annotations

import math
from typing import Any, Final
from xml.etree.ElementTree import Element, SubElement, tostring

from ijkg.service.linked import href

WIDTH: Final = 760
HEIGHT: Final = 460
_CX: Final = WIDTH / 2
_CY: Final = HEIGHT / 2
_RX: Final = 280
_RY: Final = 185


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _n(value: float) -> str:
    return f"{value:.1f}"


def _text(parent: Element, tag: str, text: str, **attributes: str) -> Element:
    element = SubElement(parent, tag, attributes)
    element.text = text
    return element


def neighbourhood_svg(picture: dict[str, Any]) -> str:
    """The SVG (as markup to put in a page) of ``entity_view(...)["picture"]``."""
    nodes = picture["nodes"]
    center = picture["center"]
    svg = Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "class": "ijkg-picture",
            "role": "img",
            "aria-labelledby": "ijkg-picture-title",
        },
    )
    _text(svg, "title", f"{center['label']} and its neighbours", id="ijkg-picture-title")
    marker = SubElement(
        SubElement(svg, "defs"),
        "marker",
        {
            "id": "ijkg-arrow",
            "viewBox": "0 0 10 10",
            "refX": "9",
            "refY": "5",
            "markerWidth": "7",
            "markerHeight": "7",
            "orient": "auto-start-reverse",
        },
    )
    SubElement(marker, "path", {"d": "M0 0L10 5L0 10z", "class": "ijkg-arrow"})
    count = max(len(nodes), 1)
    placed = []
    for i, node in enumerate(nodes):
        angle = -math.pi / 2 + 2 * math.pi * i / count
        x = _CX + _RX * math.cos(angle)
        y = _CY + _RY * math.sin(angle)
        placed.append((node, x, y))
    for node, x, y in placed:
        # Lines stop short of the boxes so the arrow heads show.
        dx, dy = x - _CX, y - _CY
        length = math.hypot(dx, dy) or 1.0
        x1, y1 = _CX + dx / length * 60, _CY + dy / length * 24
        x2, y2 = x - dx / length * 70, y - dy / length * 18
        line = {"x1": _n(x1), "y1": _n(y1), "x2": _n(x2), "y2": _n(y2), "class": "ijkg-edge"}
        if "out" in node["directions"]:
            line["marker-end"] = "url(#ijkg-arrow)"
        if "in" in node["directions"]:
            line["marker-start"] = "url(#ijkg-arrow)"
        SubElement(svg, "line", line)
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        label = _short(", ".join(node["properties"]), 30)
        _text(svg, "text", label, x=_n(mx), y=_n(my - 3), **{"class": "ijkg-edge-label"})
    for node, x, y in placed:
        label = node["label"]
        link = SubElement(svg, "a", {"href": href(node["id"]), "class": "ijkg-node"})
        _text(link, "title", f"{label} ({node.get('type') or 'resource'})")
        box = {"x": _n(x - 75), "y": _n(y - 16), "width": "150", "height": "32", "rx": "6"}
        SubElement(link, "rect", box)
        _text(link, "text", _short(label, 24), x=_n(x), y=_n(y + 4))
    group = SubElement(svg, "g", {"class": "ijkg-center"})
    box = {"x": _n(_CX - 95), "y": _n(_CY - 22), "width": "190", "height": "44", "rx": "8"}
    SubElement(group, "rect", box)
    _text(group, "text", _short(center["label"], 30), x=_n(_CX), y=_n(_CY + 5))
    return tostring(svg, encoding="unicode")

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
_RX: Final = 300
_RY: Final = 185


#: Characters a line holds in a neighbour's box (140 px at 10 px, up to three lines) and in the
#: centre's (12 px bold, up to two); a longer label is cut after a whole word.
NODE_LINE: Final = 20
NODE_LINES: Final = 3
CENTER_LINE: Final = 30
EDGE_LABEL: Final = 34
#: Average advance of a character, in ems, for sizing the centre box to its text.
_EM: Final = 0.65


def wrap(text: str, width: int, lines: int = 2) -> list[str]:
    """``text`` in at most ``lines`` lines of at most ``width`` characters, broken between
    words; what does not fit ends in "…" after the last whole word (a word longer than a line
    is cut, there being no better place).

    >>> wrap("Next Generation Economic Security Partnership", 24)
    ['Next Generation Economic', 'Security Partnership']
    >>> wrap("India–Japan Joint Vision for the Next Decade and beyond", 24)
    ['India–Japan Joint Vision', 'for the Next Decade and…']
    >>> wrap("Japan", 24)
    ['Japan']
    """
    out: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if len(candidate) <= width:
            line = candidate
            continue
        if len(out) + 1 == lines:  # the last line is full: it ends the label
            out.append(_ellipsis(line or word, width))
            return out
        if line:
            out.append(line)
        line = word if len(word) <= width else word[: width - 1] + "…"
    if line:
        out.append(line)
    return out


def _ellipsis(line: str, width: int) -> str:
    """``line`` and "…" in ``width`` characters, dropping whole words to make room."""
    if len(line) < width:
        return line + "…"
    if " " in line:
        return line.rsplit(" ", 1)[0] + "…"
    return line[: width - 1] + "…"


def _short(text: str, limit: int) -> str:
    """One line: whole words up to ``limit`` characters, then "…"."""
    return " ".join(wrap(text, limit, 1))


def _n(value: float) -> str:
    return f"{value:.1f}"


def _text(parent: Element, tag: str, text: str, **attributes: str) -> Element:
    element = SubElement(parent, tag, attributes)
    element.text = text
    return element


def _lines(
    parent: Element, lines: list[str], x: float, y: float, step: float, **attrs: str
) -> None:
    """A ``text`` of several lines centred on ``y``, one ``tspan`` a line."""
    text = SubElement(parent, "text", {"x": _n(x), "y": _n(y), **attrs})
    top = y - step * (len(lines) - 1) / 2
    for i, line in enumerate(lines):
        span = SubElement(text, "tspan", {"x": _n(x), "y": _n(top + step * i)})
        span.text = line


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
        x2, y2 = x - dx / length * 70, y - dy / length * 26
        line = {"x1": _n(x1), "y1": _n(y1), "x2": _n(x2), "y2": _n(y2), "class": "ijkg-edge"}
        if "out" in node["directions"]:
            line["marker-end"] = "url(#ijkg-arrow)"
        if "in" in node["directions"]:
            line["marker-start"] = "url(#ijkg-arrow)"
        SubElement(svg, "line", line)
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        label = _short(", ".join(node["properties"]), EDGE_LABEL)
        _text(svg, "text", label, x=_n(mx), y=_n(my - 3), **{"class": "ijkg-edge-label"})
    for node, x, y in placed:
        label = node["label"]
        link = SubElement(svg, "a", {"href": href(node["id"]), "class": "ijkg-node"})
        _text(link, "title", f"{label} ({node.get('type') or 'resource'})")
        lines = wrap(label, NODE_LINE, NODE_LINES)
        # 140 px wide and at most 50 high: twelve boxes on the ellipse do not overlap.
        height = 14.0 + 12 * len(lines)
        box = {
            "x": _n(x - 70),
            "y": _n(y - height / 2),
            "width": "140",
            "height": _n(height),
            "rx": "6",
        }
        SubElement(link, "rect", box)
        _lines(link, lines, x, y + 4, 12)
    group = SubElement(svg, "g", {"class": "ijkg-center"})
    lines = wrap(center["label"], CENTER_LINE)
    # The box grows with its text (up to two lines of CENTER_LINE characters), so the label
    # always sits inside it.
    width = max(190.0, max(len(line) for line in lines) * 12 * _EM + 28)
    height = 26.0 + 15 * len(lines)
    box = {
        "x": _n(_CX - width / 2),
        "y": _n(_CY - height / 2),
        "width": _n(width),
        "height": _n(height),
        "rx": "8",
    }
    SubElement(group, "rect", box)
    _lines(group, lines, _CX, _CY + 4, 15)
    return tostring(svg, encoding="unicode")

"""The neighbourhood picture: labels and links are text, never markup."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest

from ijkg.service.svg import neighbourhood_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "x</text><script>alert(\"1\")</script><text a='b'>&amp;"


def test_labels_and_links_are_escaped() -> None:
    picture = {
        "center": {"label": HOSTILE},
        "nodes": [
            {
                "id": 'https://example.com/"><script>',
                "label": HOSTILE,
                "type": HOSTILE,
                "directions": ["in", "out"],
                "properties": [HOSTILE],
            }
        ],
    }
    markup = neighbourhood_svg(picture)
    svg = ElementTree.fromstring(markup)  # noqa: S314 - the function's own output
    assert not [e for e in svg.iter() if e.tag.endswith("script")]
    assert svg.findtext(SVG + "title") == f"{HOSTILE} and its neighbours"
    link = svg.find(SVG + "a")
    assert link is not None and link.get("href") == 'https://example.com/"><script>'
    assert link.findtext(SVG + "title") == f"{HOSTILE} ({HOSTILE})"
    texts = ["".join(e.itertext()) for e in svg.iter(SVG + "text")]
    tag, rest = HOSTILE.split(" ")
    assert texts == [HOSTILE[:33] + "…", HOSTILE[:19] + "…" + rest, tag[:29] + "…" + rest]


def picture(center: str, labels: list[str]) -> dict[str, Any]:
    return {
        "center": {"label": center},
        "nodes": [
            {
                "id": f"/id/thing/{i}",
                "label": label,
                "type": "Thing",
                "directions": ["out"],
                "properties": ["related to"],
            }
            for i, label in enumerate(labels)
        ],
    }


def lines(element: ElementTree.Element) -> list[str]:
    return [span.text or "" for span in element.iter(SVG + "tspan")]


LONG = "India–Japan Joint Vision for the Next Decade"
LONGER = "Memorandum of Cooperation in the Field of Semiconductors between India and Japan"


def test_labels_break_between_words_and_are_whole_up_to_three_lines() -> None:
    svg = ElementTree.fromstring(neighbourhood_svg(picture("Japan", [LONG, LONGER])))  # noqa: S314
    first, second = svg.iter(SVG + "a")
    node_text = first.find(SVG + "text")
    assert node_text is not None
    assert lines(node_text) == ["India–Japan Joint", "Vision for the Next", "Decade"]
    longer = second.find(SVG + "text")
    assert longer is not None
    shown = lines(longer)
    assert len(shown) == 3 and shown[-1].endswith("…")
    # Cut after a whole word, never inside one.
    words = LONGER.split()
    assert " ".join(shown)[:-1].split() == words[: len(" ".join(shown)[:-1].split())]


@pytest.mark.parametrize("label", ["Japan", LONG, LONGER, "Sanae Takaichi"])
def test_the_centre_label_sits_inside_its_box(label: str) -> None:
    svg = ElementTree.fromstring(neighbourhood_svg(picture(label, ["India"])))  # noqa: S314
    group = svg.find(f"{SVG}g[@class='ijkg-center']")
    assert group is not None
    rect, text = group.find(SVG + "rect"), group.find(SVG + "text")
    assert rect is not None and text is not None
    shown = lines(text)
    # 12 px bold: a generous 0.6 em a character.
    widest = max(len(line) for line in shown) * 12 * 0.6
    assert widest <= float(rect.get("width", 0))
    ys = [float(span.get("y", 0)) for span in text.iter(SVG + "tspan")]
    top, height = float(rect.get("y", 0)), float(rect.get("height", 0))
    assert top + 12 <= min(ys) and max(ys) <= top + height
    if len(label) <= 60:
        assert " ".join(shown) == label

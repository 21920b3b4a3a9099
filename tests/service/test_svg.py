"""The neighbourhood picture: labels and links are text, never markup."""

from __future__ import annotations

from xml.etree import ElementTree

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
    texts = [e.text for e in svg.iter(SVG + "text")]
    assert texts == [HOSTILE[:29] + "…", HOSTILE[:23] + "…", HOSTILE[:29] + "…"]

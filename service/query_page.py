"""The query page: a SPARQL editor (YASGUI) for people, served at ``/sparql`` to browsers.

Everything it needs ships inside the package (``ijkg.service/static``): the editor's built assets
(``static/yasgui/``, from the npm package, see its ``NOTICE.md``), the page's own script and style
(``static/sparql/``) and the example queries (``static/examples/*.rq``: a few tours of the graph
and the competency questions). The page talks only to its own origin; its Content-Security-Policy
says so to the browser as well.

An example is a ``.rq`` file whose leading comment block starts with its title (the question it
answers, up to the first line that ends a sentence) followed by a description.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from functools import cache
from importlib.resources import files

from ijkg.graph import PREFIXES, ServiceLimits
from ijkg.service.linked import render

#: Where the page may load from and talk to: its own origin only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # The editor sets element styles from script (column widths, the resize handle).
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

_ID = re.compile(r"^(CQ\d+)\s+")


@dataclass(frozen=True)
class Example:
    """One ready-made query for the page."""

    id: str
    title: str
    description: str
    query: str


def parse_example(name: str, text: str) -> Example:
    """Read an example's title and description from its leading ``#`` comment block.

    >>> parse_example("CQ09.rq", "# CQ09 Who met,\\n# and when?\\n# The meeting.\\nSELECT * {}")
    Example(id='CQ09', title='Who met, and when?', description='The meeting.', query='# CQ09 ...')
    """
    comment: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        comment.append(line.lstrip("#").strip())
    stem = name.rsplit(".", 1)[0]
    title_lines: list[str] = []
    rest = list(comment)
    while rest:
        line = rest.pop(0)
        title_lines.append(line)
        if line.endswith(("?", ".")):
            break
    title = " ".join(title_lines)
    match = _ID.match(title)
    example_id = match.group(1) if match else stem
    if match:
        title = title[match.end() :]
    return Example(
        id=example_id,
        title=title or stem,
        description=" ".join(rest),
        query=text,
    )


@cache
def examples() -> tuple[Example, ...]:
    """The example queries shipped with the package, in file-name order."""
    folder = files("ijkg.service") / "static" / "examples"
    found = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".rq")),
        key=lambda entry: entry.name,
    )
    return tuple(parse_example(entry.name, entry.read_text(encoding="utf-8")) for entry in found)


def default_query() -> str:
    """The query the editor opens with: every project prefix, and a first look at the graph."""
    prefixes = "\n".join(f"PREFIX {name}: <{iri}>" for name, iri in PREFIXES.items())
    return (
        f"{prefixes}\n\n"
        "# The pillars of the India–Japan partnership and their labels.\n"
        "SELECT ?pillar ?label WHERE {\n"
        "  ?pillar a ijkg:Pillar ;\n"
        "    skos:prefLabel ?label .\n"
        '  FILTER(LANGMATCHES(LANG(?label), "en"))\n'
        "}\n"
        "ORDER BY ?label\n"
    )


def render_query_page(*, endpoint: str, static: str, limits: ServiceLimits) -> str:
    """The page's HTML. ``endpoint`` is the path queries go to, ``static`` the assets' base path.

    The template is rendered by the pages' Jinja2 environment: text is autoescaped, and the
    configuration goes into its ``<script>`` element through ``tojson``, which escapes ``<``,
    ``>``, ``&`` and ``'`` so nothing in it can close the element early.
    """
    config = {
        "endpoint": endpoint,
        "prefixes": PREFIXES,
        "defaultQuery": default_query(),
        "examples": [asdict(example) for example in examples()],
        "limits": limits.as_json(),
    }
    return render(
        "sparql-query.html",
        static=static,
        endpoint=endpoint,
        config=config,
        limits=limits.as_text(),
    )

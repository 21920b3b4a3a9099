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

from ijkg.graph import ID_BASE, PREFIXES, ServiceLimits
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


#: The query the editor opens with: what a newcomer asks first, in plain sight.
_FIRST_QUERY = """\
# The eight pillars of the Joint Vision, in order: run it with ▶ (Ctrl+Enter).
# Every entity has an English rdfs:label. Type a prefix such as prov: and the
# editor declares it; the examples on the left tour the graph.
SELECT ?n ?pillar ?label WHERE {
  ?pillar a ijkg:Pillar ;
    skos:notation ?n ;
    rdfs:label ?label .
}
ORDER BY ?n
"""


def default_query() -> str:
    """The first query, declaring only the prefixes it uses, so it is all in view (the editor
    declares the others as they are typed).

    >>> print(default_query().split("SELECT")[0])
    PREFIX ijkg: <https://w3id.org/ijkg/ontology#>
    PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
    PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
    <BLANKLINE>
    # The eight pillars of the Joint Vision, in order: run it with ▶ (Ctrl+Enter).
    # Every entity has an English rdfs:label. Type a prefix such as prov: and the
    # editor declares it; the examples on the left tour the graph.
    <BLANKLINE>
    """
    body = "\n".join(line for line in _FIRST_QUERY.splitlines() if not line.startswith("#"))
    used = sorted(name for name in PREFIXES if re.search(rf"\b{name}:", body))
    prefixes = "\n".join(f"PREFIX {name}: <{PREFIXES[name]}>" for name in used)
    return f"{prefixes}\n\n{_FIRST_QUERY}"


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
        # Result IRIs of entities link to their pages here, not to the w3id.org redirect.
        "entityBase": ID_BASE,
        "entityPath": "/id/",
        "examples": [asdict(example) for example in examples()],
        "limits": limits.as_json(),
        # The version picker: where the versions are listed, and how many of the newest.
        "versionsPath": "/versions",
        "versionsListed": 50,
    }
    return render(
        "sparql-query.html",
        static=static,
        endpoint=endpoint,
        config=config,
        limits=limits.as_text(),
    )

"""Security headers on a real server: every answer says ``nosniff``; every HTML answer, ``/docs``
included, has a Content-Security-Policy and may not be framed; ``/docs`` runs no inline script."""

from __future__ import annotations

import re

import pytest

from tests.conftest import Server

HTML = "text/html"

#: (method, path, headers) of answers of every kind: pages, data, errors, static files, preflight.
ANSWERS = [
    ("GET", "/", {"Accept": HTML}),
    ("GET", "/docs", {}),
    ("GET", "/sparql", {"Accept": HTML}),
    ("GET", "/id/state/japan", {"Accept": HTML}),
    ("GET", "/ontology", {"Accept": HTML}),
    ("GET", "/shapes", {"Accept": HTML}),
    ("GET", "/id/state/japan", {"Accept": "application/ld+json"}),
    ("GET", "/sparql?query=ASK%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D", {}),
    ("GET", "/sparql?query=SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20LIMIT%20200", {}),
    ("GET", "/health", {}),
    ("GET", "/health/ready", {}),
    ("GET", "/openapi.json", {}),
    ("GET", "/context.jsonld", {}),
    ("GET", "/static/swagger/swagger-ui.css", {}),
    ("GET", "/no/such/thing", {}),
    ("GET", "/sparql?query=SELECT", {}),
    ("POST", "/validate", {"Content-Type": "text/turtle"}),
    (
        "OPTIONS",
        "/sparql",
        {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
    ),
]


@pytest.mark.parametrize(("method", "path", "headers"), ANSWERS, ids=[a[1] for a in ANSWERS])
def test_every_answer_says_nosniff_and_every_page_has_a_policy(
    server: Server, method: str, path: str, headers: dict[str, str]
) -> None:
    with server.client() as client:
        answer = client.request(method, path, headers={"Accept-Encoding": "gzip", **headers})
    assert answer.headers["x-content-type-options"] == "nosniff", answer.headers
    if answer.headers.get("content-type", "").startswith(HTML):
        policy = answer.headers["content-security-policy"]
        directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
        assert directives["default-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]
        assert "'unsafe-inline'" not in directives.get("script-src", [])
        assert answer.headers["x-frame-options"] == "DENY"


def test_the_pages_were_among_the_answers(server: Server) -> None:
    """The parametrised test above saw HTML pages (not only data): every page path answers HTML."""
    with server.client() as client:
        kinds = [
            client.request(m, p, headers=h).headers["content-type"]
            for m, p, h in ANSWERS
            if h.get("Accept") == HTML or p == "/docs"
        ]
    assert len(kinds) == 6 and all(k.startswith(HTML) for k in kinds), kinds


def test_the_api_documentation_runs_no_inline_script(server: Server) -> None:
    with server.client() as client:
        page = client.get("/docs")
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
        assert scripts and all(
            'src="/static/' in attrs and not body.strip() for attrs, body in scripts
        )
        for attrs, _ in scripts:
            src = re.search(r'src="([^"]+)"', attrs)
            assert src is not None
            script = client.get(src.group(1))
            assert script.status_code == 200
            assert script.headers["content-type"].startswith(
                ("text/javascript", "application/javascript")
            )
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy

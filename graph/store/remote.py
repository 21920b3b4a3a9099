"""A store behind any SPARQL 1.1 endpoint (Oxigraph server, Fuseki, GraphDB, Virtuoso, Neptune).

Everything the embedded store does, over SPARQL 1.1 Query and Update: queries with the same limits
and formats (the endpoint answers in SPARQL JSON or N-Triples; ijkg re-serialises with its own caps
so answers look the same whatever the store), commits, update effects, direct pattern lookups.
What a remote store cannot do, and how ijkg makes up for it:

- **No transaction across requests.** A commit is one update request whose every operation is
  conditional on the graph version (a triple in the system graph) and which bumps the version and
  records a commit token last; the store applies an update request atomically, so the commit lands
  whole or not at all, and reading the token back tells whether it was this one (otherwise:
  ``VersionConflict``). Atomic is not isolated (Oxigraph on disk lets two concurrent requests pass
  the same check), so the workers of one host also hold a shared write lock (``slots``) for the
  length of a commit; two tokens read back mean a writer elsewhere got in, and are an error.
- **No history.** The same update request that makes a version records its exact patch in the
  system graph (``remote_history``), so the versions can be listed and their patches read; a
  query at an older version runs on a local replica rebuilt from them (``version_replica``).
- **A union default graph that is a bag or missing.** Like the embedded engine, ijkg keeps the union
  of the named graphs in the store's real default graph (``IJKG_SPARQL_UNION=mirror``, the default).
  A store whose default graph already is the union, as a set (Fuseki with ``unionDefaultGraph``),
  can be used as it is with ``native``.
- **No way to cancel a query.** The HTTP request has the time limit; the store should have its own
  (``oxigraph serve --timeout-s``, Fuseki ``arq:queryTimeout``) so that it also stops working.
- **Blank nodes cannot be named in a query.** Blank nodes are replaced by skolem IRIs
  (``https://w3id.org/ijkg/.well-known/genid/...``) when written, as RDF 1.1 recommends.
- **No replica to try an update on.** An update's effect is computed from the store as it is,
  operation by operation; an operation with ``WHERE`` that follows one that changes the graph in
  the same request is refused (send them separately), since its ``WHERE`` could not see that change.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Collection, Iterable, Sequence
from typing import Any

import httpx
import pyoxigraph as ox
from pyparsing import ParseBaseException
from rdflib.plugins.sparql import prepareQuery

from ijkg.graph.core.errors import (
    NotAcceptable,
    QueryAborted,
    QueryError,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    ResultTooLarge,
    StoreError,
    StoreUnavailable,
    VersionConflict,
    VersionsUnsupported,
)
from ijkg.graph.core.formats import NTRIPLES, RESULTS_JSON, RdfSyntax, ResultsFormat
from ijkg.graph.core.namespaces import GENID, SYSTEM_GRAPH
from ijkg.graph.core.settings import Settings
from ijkg.graph.sparql.shape_reads import Unbounded, sparql_path, triple_patterns
from ijkg.graph.sparql.text import query_form
from ijkg.graph.store import remote_history as records
from ijkg.graph.store import union
from ijkg.graph.store.base import (
    Answer,
    Commit,
    Dataset,
    Delta,
    Patch,
    Pattern,
    QueryLimits,
    Store,
    StoreStats,
    VersionInfo,
    quad_pattern,
)
from ijkg.graph.store.effects import Effect, compute
from ijkg.graph.store.lexical import canonical
from ijkg.graph.store.results import write_boolean, write_solutions, write_triples
from ijkg.graph.store.slots import SharedSlots
from ijkg.graph.store.update_plan import PatternStep, check_syntax, plan_update
from ijkg.graph.store.version_replica import VersionReplica

SYS = SYSTEM_GRAPH + "#"
_META_NODE = ox.NamedNode(SYS + "store")
_SYSTEM_NODE = ox.NamedNode(SYSTEM_GRAPH)
_META = str(_META_NODE)  # as written in SPARQL: <...>
_GRAPH = str(_SYSTEM_NODE)
_VERSION = f"<{SYS}graphVersion>"
_TOKEN = f"<{SYS}lastCommit>"
_STORE_ID = f"<{SYS}storeId>"
_LOCATION = re.compile(r"(?:line |at |error at )(\d+)[:, ]+(?:column )?(\d+)")
_RAW_FACTOR = 8  # the endpoint's JSON is wordier than what ijkg sends on
_WRITER_WAIT_S = 120.0  # as long as one commit's update request may take


def _bookkeeping(quad: ox.Quad) -> bool:
    """Whether ``quad`` is this store's own version triple or one of its version records (kept
    in the system graph, as the store has nowhere else to keep them): never exported, and never
    written but by ``commit`` itself (a backup of another store carries that store's record,
    which means nothing here)."""
    return quad.graph_name == _SYSTEM_NODE and (
        quad.subject == _META_NODE or records.is_record(quad.subject)
    )


def skolem(term: Any) -> Any:
    """Blank nodes become skolem IRIs; other terms are left alone."""
    if isinstance(term, ox.BlankNode):
        return ox.NamedNode(GENID + term.value)
    return term


def skolem_quad(quad: ox.Quad) -> ox.Quad:
    return ox.Quad(
        skolem(quad.subject), quad.predicate, skolem(quad.object), skolem(quad.graph_name)
    )


def _written(quads: list[ox.Quad]) -> list[ox.Quad]:
    """Quads as a commit writes them: skolemised, typed literals in canonical form, each once."""
    return list(dict.fromkeys(canonical([skolem_quad(q) for q in quads])))


def _nt(term: Any) -> str:
    return str(term)


def _quad_block(quads: Iterable[ox.Quad], *, default: bool = False) -> str:
    """Quads as the inside of an update template, grouped by graph (``default``: as triples)."""
    by_graph: dict[str, list[str]] = {}
    for quad in quads:
        triple = f"{_nt(quad.subject)} {_nt(quad.predicate)} {_nt(quad.object)} ."
        key = (
            "" if default or isinstance(quad.graph_name, ox.DefaultGraph) else _nt(quad.graph_name)
        )
        by_graph.setdefault(key, []).append(triple)
    parts = []
    for graph, triples in by_graph.items():
        body = "\n".join(triples)
        parts.append(f"GRAPH {graph} {{\n{body}\n}}" if graph else body)
    return "\n".join(parts)


class SparqlStore(Store):
    """The ``Store`` interface over a remote SPARQL 1.1 Query + Update endpoint."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        if not settings.sparql_query_url or not settings.sparql_update_url:
            raise StoreUnavailable(
                "IJKG_STORE=sparql needs IJKG_SPARQL_QUERY_URL and IJKG_SPARQL_UPDATE_URL"
            )
        self.settings = settings
        self.limits = QueryLimits.from_settings(settings)
        self.mirror = settings.sparql_union == "mirror"
        auth = None
        if settings.sparql_user:
            auth = httpx.BasicAuth(settings.sparql_user, settings.sparql_password or "")
        self._client = client or httpx.AsyncClient(
            auth=auth, timeout=httpx.Timeout(settings.query_timeout_s + 5)
        )
        # Shared by every service worker on this host (see ``slots``), not by this process alone.
        self._slots = SharedSlots(
            settings.data_dir / "query-slots", settings.max_concurrent_queries
        )
        # One commit at a time on this host: an update request is atomic on every store, but
        # not isolated on all (Oxigraph on disk lets two concurrent requests both pass the same
        # version check), so the version check alone does not serialise writers.
        self._writer = SharedSlots(
            settings.data_dir / "writer",
            1,
            wait_s=_WRITER_WAIT_S,
            busy=lambda: StoreUnavailable(
                f"another worker has held the store's write lock for {_WRITER_WAIT_S:g} s"
            ),
        )
        self._store_id = ""
        self._counted: tuple[int, int] | None = None  # (version, quads) after this one's commit
        self._replica: VersionReplica | None = None

    @classmethod
    async def open(cls, settings: Settings) -> SparqlStore:
        """Connect, and give an empty store its identity and version (idempotently)."""
        store = cls(settings)
        try:
            await store._ensure_meta()
        except BaseException:
            await store.close()
            raise
        return store

    async def close(self) -> None:
        try:
            if self._replica is not None:
                await self._replica.close()
        finally:
            await self._client.aclose()

    def _replica_for_versions(self) -> VersionReplica:
        """The local replica that answers queries at a version (made on first use)."""
        if not self.settings.version_replica:
            raise VersionsUnsupported(
                "this service answers queries at the current version only "
                "(IJKG_VERSION_REPLICA is off)"
            )
        if self._replica is None:
            self._replica = VersionReplica(
                self.settings,
                head=self._head,
                version=self.version,
                solutions=self._solutions,
                slot=self._slots.hold,
            )
        return self._replica

    async def _head(self) -> tuple[int, list[ox.Quad]]:
        """The version and every quad of the named graphs, bookkeeping left out, in one query
        (one query reads one state of the store, so the two agree)."""
        rows = await self._solutions(
            "SELECT ?s ?p ?o ?g ?v WHERE { "
            f"{{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != {_GRAPH} || !(?s = {_META} || "
            f'STRSTARTS(STR(?s), "{records.RECORD_PREFIX}"))) }} '
            f"UNION {{ GRAPH {_GRAPH} {{ {_META} {_VERSION} ?v }} }} }}"
        )
        version: int | None = None
        quads = []
        for row in rows:
            if row["v"] is not None:
                version = int(row["v"].value)
            else:
                quads.append(ox.Quad(row["s"], row["p"], row["o"], row["g"]))
        if version is None:
            raise StoreUnavailable("the SPARQL store has no ijkg version; was it reset?")
        return version, quads

    # --- HTTP ------------------------------------------------------------------------------------

    async def _request(
        self,
        url: str,
        *,
        text: str,
        content_type: str,
        accept: str,
        timeout_s: float,
        max_bytes: int,
        params: dict[str, list[str]] | None = None,
    ) -> tuple[str, bytes]:
        """POST ``text`` directly (the protocol's ``application/sparql-query`` and ``-update``
        bodies: nothing to URL-encode, which cost a large update or lookup a tenth of a second),
        with the dataset, if any, as URL parameters."""
        try:
            async with asyncio.timeout(timeout_s):
                async with self._client.stream(
                    "POST",
                    url,
                    content=text.encode("utf-8"),
                    params=params,
                    headers={"Accept": accept, "Content-Type": content_type},
                    timeout=httpx.Timeout(timeout_s + 1),
                ) as response:
                    chunks = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise ResultTooLarge(
                                f"the result is larger than the cap of {max_bytes:,} bytes"
                            )
                        chunks.append(chunk)
                    body = b"".join(chunks)
                    if response.status_code >= 400:
                        self._raise(response.status_code, body)
                    return response.headers.get("content-type", ""), body
        except TimeoutError:
            raise QueryTimeout(timeout_s) from None
        except httpx.TimeoutException:
            raise QueryTimeout(timeout_s) from None
        except httpx.TransportError as exc:
            raise StoreUnavailable(f"the SPARQL store is unreachable: {exc}") from None

    @staticmethod
    def _raise(status: int, body: bytes) -> None:
        message = body.decode("utf-8", "replace").strip()[:2000] or f"HTTP {status}"
        if status == 400:
            match = _LOCATION.search(message)
            if match:
                raise QuerySyntaxError(message, int(match.group(1)), int(match.group(2)))
            raise QueryError(message)
        if status in (408, 504):
            raise QueryError(f"the SPARQL store stopped the query: {message}")
        if status == 500 and message != f"HTTP {status}":
            # Stores answer 500 for a query they cannot evaluate (an unknown function, a type
            # error); an unreachable or broken store shows up as a transport error or a 502/503.
            raise QueryError(f"the SPARQL store could not evaluate the query: {message}")
        raise StoreUnavailable(f"the SPARQL store answered {status}: {message}")

    async def _select_raw(
        self,
        sparql: str,
        dataset: Dataset | None,
        limits: QueryLimits,
        *,
        graph: bool | None = None,
    ) -> tuple[str, bytes]:
        """The store's answer to ``sparql``; ``graph``: whether it is a CONSTRUCT or DESCRIBE
        (found from the text when not given)."""
        if graph is None:
            graph = query_form(sparql) in ("CONSTRUCT", "DESCRIBE")
        params = None
        if dataset is not None and not dataset.is_union:
            params = {
                "default-graph-uri": list(dataset.default_graphs or ()),
                "named-graph-uri": list(dataset.named_graphs or ()),
            }
        async with self._slots.hold():
            return await self._request(
                self.settings.sparql_query_url or "",
                text=sparql,
                content_type="application/sparql-query",
                params=params,
                # Ask for what the query's form gives: some stores (Virtuoso) fail a CONSTRUCT
                # when the results format comes first in Accept.
                accept="application/n-triples" if graph else "application/sparql-results+json",
                timeout_s=limits.timeout_s,
                max_bytes=limits.max_bytes * _RAW_FACTOR,
            )

    async def _update(self, text: str) -> None:
        await self._request(
            self.settings.sparql_update_url or "",
            text=text,
            content_type="application/sparql-update",
            accept="*/*",
            timeout_s=max(self.limits.timeout_s, 120.0),
            max_bytes=1 << 20,
        )

    # --- Store -----------------------------------------------------------------------------------

    async def query(
        self,
        sparql: str,
        *,
        results: ResultsFormat | None = RESULTS_JSON,
        rdf: RdfSyntax | None = NTRIPLES,
        dataset: Dataset | None = None,
        base_iri: str | None = None,
        limits: QueryLimits | None = None,
        prefixes: bool = False,
        at_version: int | None = None,
    ) -> Answer:
        if at_version is not None:
            return await self._replica_for_versions().query(
                sparql,
                at_version=at_version,
                results=results,
                rdf=rdf,
                dataset=dataset,
                base_iri=base_iri,
                limits=limits,
                prefixes=prefixes,
            )
        limits = limits or self.limits
        added_lines = 0  # lines put in front of the caller's query, for syntax error positions
        if prefixes:
            from ijkg.graph.core.namespaces import PREFIXES

            declared = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
            sparql = declared + sparql
            added_lines += len(PREFIXES)
        if base_iri:
            sparql = f"BASE <{base_iri}>\n{sparql}"
            added_lines += 1
        version = await self.version()
        try:
            content_type, body = await self._select_raw(sparql, dataset, limits)
        except QuerySyntaxError as exc:
            if exc.line is None or exc.line <= added_lines:
                raise
            # Where the error is in the caller's text, not in the text sent.
            raise QuerySyntaxError(str(exc), exc.line - added_lines, exc.column) from None
        if "n-triples" in content_type or "turtle" in content_type:
            if rdf is None:
                raise NotAcceptable("no acceptable format for a graph answer", "graph")
            try:
                triples = [
                    ox.Triple(q.subject, q.predicate, q.object)
                    for q in ox.parse(input=body, format=ox.RdfFormat.N_TRIPLES)
                ]
            except SyntaxError as exc:
                raise _cut_off(exc) from None
            data, rows = write_triples(
                iter(triples), rdf, max_rows=limits.max_rows, max_bytes=limits.max_bytes
            )
            return Answer("graph", rdf.media_type, data, rows, version)
        parsed = _parsed_results(body)
        if results is None:
            form = "ask" if isinstance(parsed, ox.QueryBoolean) else "select"
            raise NotAcceptable(f"no acceptable format for a {form} answer", form)
        if isinstance(parsed, ox.QueryBoolean):
            return Answer(
                "ask", results.media_type, write_boolean(bool(parsed), results), 1, version
            )
        try:
            data, rows = write_solutions(
                parsed, results, max_rows=limits.max_rows, max_bytes=limits.max_bytes
            )
        except SyntaxError as exc:
            raise _cut_off(exc) from None
        return Answer("select", results.media_type, data, rows, version)

    async def _solutions(
        self, sparql: str, dataset: Dataset | None = None, limits: QueryLimits | None = None
    ) -> list[ox.QuerySolution]:
        _content_type, body = await self._select_raw(
            sparql, dataset, limits or self.internal_limits(), graph=False
        )
        parsed = _parsed_results(body)
        if not isinstance(parsed, ox.QuerySolutions):
            raise QueryError("expected solutions from the SPARQL store")
        try:
            return list(parsed)  # read whole here: JSON results are parsed as they are read
        except SyntaxError as exc:
            raise _cut_off(exc) from None

    async def _ensure_meta(self) -> None:
        query = (
            f"SELECT ?id ?v WHERE {{ GRAPH {_GRAPH} {{ {_META} {_STORE_ID} ?id ; "
            f"{_VERSION} ?v }} }}"
        )
        rows = list(await self._solutions(query))
        if not rows:
            # Under the write lock: workers starting together on an empty store would otherwise
            # each pass the FILTER on a store that does not isolate updates, and write two ids.
            async with self._writer.hold():
                store_id = secrets.token_hex(6)
                await self._update(
                    f'INSERT {{ GRAPH {_GRAPH} {{ {_META} {_STORE_ID} "{store_id}" ; '
                    f'{_VERSION} 0 ; {_TOKEN} "" }} }} WHERE {{ FILTER NOT EXISTS {{ '
                    f"GRAPH {_GRAPH} {{ {_META} {_VERSION} ?v }} }} }}"
                )
            rows = list(await self._solutions(query))
        self._store_id = str(rows[0]["id"].value)

    async def version(self) -> int:
        rows = list(
            await self._solutions(
                f"SELECT ?v WHERE {{ GRAPH {_GRAPH} {{ {_META} {_VERSION} ?v }} }}"
            )
        )
        if not rows:
            raise StoreUnavailable("the SPARQL store has no ijkg version; was it reset?")
        return int(rows[0]["v"].value)

    def stored_forms(self, quads: Sequence[ox.Quad]) -> list[ox.Quad]:
        # Blank nodes are held as skolem IRIs here, and typed literals in canonical form.
        return canonical([skolem_quad(q) for q in quads])

    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        if not patterns:
            return []
        found: dict[ox.Quad, None] = {}
        for start in range(0, len(patterns), 500):
            rows = []
            for s, p, o, g in patterns[start : start + 500]:
                if isinstance(g, ox.DefaultGraph):
                    continue  # the default graph only mirrors the named graphs
                terms = [skolem(t) if t is not None else None for t in (s, p, o, g)]
                rows.append(
                    "(" + " ".join(_nt(t) if t is not None else "UNDEF" for t in terms) + ")"
                )
            if not rows:
                continue
            solutions = await self._solutions(
                "SELECT ?s ?p ?o ?g WHERE { VALUES (?s ?p ?o ?g) { "
                + " ".join(rows)
                + " } GRAPH ?g { ?s ?p ?o } }"
            )
            for row in solutions:
                found[ox.Quad(row["s"], row["p"], row["o"], row["g"])] = None
        return list(found)

    async def commit(
        self,
        delta: Delta,
        *,
        expected_version: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Commit:
        async with self._writer.hold():
            return await self._commit(delta, expected_version, meta)

    async def _commit(
        self, delta: Delta, expected_version: int | None, meta: dict[str, Any] | None
    ) -> Commit:
        version = await self.version()
        if expected_version is not None and expected_version != version:
            raise VersionConflict(expected_version, version)
        if any(isinstance(q.graph_name, ox.DefaultGraph) for q in delta.adds):
            raise QueryRefused("the default graph is the union of the named graphs; name a graph")
        # In the form the store keeps (``lexical``), so that they compare with what it gives back.
        removes = _written([q for q in delta.removes if not _bookkeeping(q)])
        adds = _written([q for q in delta.adds if not _bookkeeping(q)])
        # What really changes (for exact history and counts): the version check below makes sure
        # the graph does not move between this read and the write. A removed quad is recorded
        # as the store gave it back.
        found = await self.match([quad_pattern(q) for q in removes + adds])
        present = dict(zip(canonical(found), found, strict=True))
        added = set(adds)
        removes = [present[q] for q in removes if q in present and q not in added]
        adds = [q for q in adds if q not in present]
        if not removes and not adds:
            return Commit(version, version, 0, 0)
        token = secrets.token_hex(12)
        quads_after = await self._quads_at(version) + len(adds) - len(removes)
        record = records.record_triples(
            version + 1,
            removes,
            adds,
            meta,
            quads=quads_after,
            time=records.now(),
        )
        guard = f"GRAPH {_GRAPH} {{ {_META} {_VERSION} {version} }}"
        operations = []
        if removes:
            operations.append(f"DELETE {{ {_quad_block(removes)} }} WHERE {{ {guard} }}")
        if adds:
            mirror = f"\n{_quad_block(adds, default=True)}" if self.mirror else ""
            operations.append(f"INSERT {{ {_quad_block(adds)}{mirror} }} WHERE {{ {guard} }}")
        if removes and self.mirror:
            values = " ".join(
                f"({_nt(q.subject)} {_nt(q.predicate)} {_nt(q.object)})" for q in removes
            )
            operations.append(
                f"DELETE {{ ?s ?p ?o }} WHERE {{ {guard} VALUES (?s ?p ?o) {{ {values} }} "
                f"FILTER NOT EXISTS {{ GRAPH ?g {{ ?s ?p ?o }} }} }}"
            )
        operations.append(
            f"DELETE {{ GRAPH {_GRAPH} {{ {_META} {_VERSION} {version} ; {_TOKEN} ?old }} }} "
            f"INSERT {{ GRAPH {_GRAPH} {{ {_META} {_VERSION} {version + 1} ; "
            f'{_TOKEN} "{token}" .\n{record} }} }} '
            f"WHERE {{ GRAPH {_GRAPH} {{ {_META} {_VERSION} {version} ; {_TOKEN} ?old }} }}"
        )
        await self._update(" ;\n".join(operations))
        landed = list(
            await self._solutions(
                f"SELECT ?v ?t WHERE {{ GRAPH {_GRAPH} {{ {_META} {_VERSION} ?v ; {_TOKEN} ?t }} }}"
            )
        )
        if len(landed) > 1:
            # Two commits on the same version both landed: a writer on another host (the write
            # lock is per host) on a store that does not isolate update requests.
            raise StoreError(
                f"two commits landed on version {version} at once; the store does not isolate "
                "concurrent update requests, so write through one host only "
                "(docs/deployment.md)"
            )
        if not landed or str(landed[0]["t"].value) != token:
            actual = int(landed[0]["v"].value) if landed else version
            raise VersionConflict(version, actual)
        self._counted = (version + 1, quads_after)
        return Commit(version, version + 1, len(removes), len(adds))

    async def _quads_at(self, version: int) -> int:
        """The store's quads (bookkeeping excluded) at ``version``, the current one: from this
        process's last commit, else from that version's record, else counted (a store written
        before records were kept, until its first commit that keeps one)."""
        if self._counted is not None and self._counted[0] == version:
            return self._counted[1]
        rows = await self._solutions(
            f"SELECT ?q WHERE {{ GRAPH {_GRAPH} {{ <{records.RECORD_PREFIX}{version}> "
            f"{records.QUADS} ?q }} }}"
        )
        if rows and rows[0]["q"] is not None:
            return int(rows[0]["q"].value)
        return await self._count()

    async def _count(self) -> int:
        """The quads a backup holds: every named graph's, less the store's bookkeeping."""
        rows = list(
            await self._solutions(
                "SELECT ?n ?record WHERE { "
                "{ SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } } "
                "{ SELECT (COUNT(*) AS ?record) WHERE { "
                f"GRAPH {_GRAPH} {{ ?s ?p ?o FILTER(?s = {_META} || "
                f'STRSTARTS(STR(?s), "{records.RECORD_PREFIX}")) }} }} }} }}'
            )
        )
        return int(rows[0]["n"].value) - int(rows[0]["record"].value) if rows else 0

    # --- versions --------------------------------------------------------------------------------

    async def version_range(self) -> tuple[int, int]:
        head = await self.version()
        return await records.first_version(self._solutions, head), head

    async def history(self, *, after: int = 0, limit: int = 100) -> list[VersionInfo]:
        first, head = await self.version_range()
        return await records.history(self._solutions, first, head, after=after, limit=limit)

    async def patch(self, version: int) -> Patch:
        first, head = await self.version_range()
        return await records.patch(self._solutions, version, first, head)

    async def update_effect(
        self,
        update: str,
        *,
        write_graph: str,
        max_quads: int,
        keep_graphs: Collection[str] = (),
        limits: QueryLimits | None = None,
        base_iri: str | None = None,
        using: Dataset | None = None,
    ) -> tuple[Delta, int]:
        try:
            check_syntax(update, base_iri)
        except SyntaxError as exc:
            match = _LOCATION.search(str(exc))
            raise QuerySyntaxError(
                str(exc),
                int(match.group(1)) if match else None,
                int(match.group(2)) if match else None,
            ) from None
        limits = limits or self.limits
        try:
            # One deadline for the whole effect, as on the embedded store (where it is computed
            # in one worker): an update may not keep the writers waiting for longer.
            async with asyncio.timeout(limits.timeout_s):
                return await self._update_effect(
                    update, write_graph, max_quads, keep_graphs, limits, base_iri, using
                )
        except TimeoutError:
            raise QueryTimeout(limits.timeout_s) from None

    async def _update_effect(
        self,
        update: str,
        write_graph: str,
        max_quads: int,
        keep_graphs: Collection[str],
        limits: QueryLimits,
        base_iri: str | None,
        using: Dataset | None,
    ) -> tuple[Delta, int]:
        version = await self.version()
        protocol = (
            None
            if using is None
            else (list(using.default_graphs or ()), list(using.named_graphs or ()))
        )
        steps = plan_update(update, base_iri=base_iri, using=protocol)
        effect = await compute(
            steps,
            _Lookup(self, limits),
            write_graph=write_graph,
            max_quads=max_quads,
            keep=keep_graphs,
        )
        return Delta(tuple(effect.removed), tuple(effect.added)), version

    async def graph_quads(self, graph: str) -> list[ox.Quad]:
        return [q for q in await super().graph_quads(graph) if not _bookkeeping(q)]

    async def graph_names(self) -> list[str]:
        # Not ``GRAPH ?g {}``: some stores (Virtuoso) answer that with an unbound ?g.
        rows = list(await self._solutions("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"))
        return sorted(str(row["g"].value) for row in rows if row["g"] is not None)

    async def stats(self) -> StoreStats:
        version = await self.version()
        # From the version's record (a lookup, and the count at exactly that version), not a
        # count of the whole store on every write and readiness probe.
        quads = await self._quads_at(version)
        return StoreStats(
            kind="sparql",
            store_id=self._store_id,
            version=version,
            quads=quads,
            details={
                "query_url": self.settings.sparql_query_url,
                "update_url": self.settings.sparql_update_url,
                "union": self.settings.sparql_union,
            },
        )

    @property
    def store_id(self) -> str:
        return self._store_id


def _cut_off(exc: SyntaxError) -> QueryAborted:
    return QueryAborted(
        f"the SPARQL store's answer was cut off or malformed (its own time limit?): {exc}"
    )


def _parsed_results(body: bytes) -> ox.QuerySolutions | ox.QueryBoolean:
    """SPARQL JSON results from the store; an answer the store cut off (at its own time limit,
    say) is ``QueryAborted``, not a crash."""
    try:
        parsed = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
    except SyntaxError as exc:
        raise _cut_off(exc) from None
    if isinstance(parsed, ox.QueryTriples):
        raise QueryError("expected solutions or a boolean from the SPARQL store")
    return parsed


class _Lookup:
    """How the effect of an update is looked up on a remote store (see ``effects``): quads are
    asked of the store a batch at a time; nothing is written, so a ``WHERE`` that follows a
    change in the same request is evaluated on a scratch copy of the quads it can match."""

    def __init__(self, store: SparqlStore, limits: QueryLimits) -> None:
        self.store = store
        self.limits = limits

    async def solutions(
        self, step: PatternStep, limit: int, effect: Effect
    ) -> list[ox.QuerySolution]:
        dataset = None
        if step.default_graphs is not None or step.named_graphs is not None:
            dataset = Dataset(tuple(step.default_graphs or ()), tuple(step.named_graphs or ()))
        if not effect:
            # At most ``limit`` solutions: past that the update is refused, and the store need
            # not find (nor send) the rest.
            return await self.store._solutions(step.bounded_select(limit), dataset, self.limits)
        return await self._solutions_after(step, limit, effect)

    async def _solutions_after(
        self, step: PatternStep, limit: int, effect: Effect
    ) -> list[ox.QuerySolution]:
        """The solutions of an operation's WHERE on the store as the earlier operations of the
        same request left it. The store cannot be asked (nothing is written yet), so the quads
        the WHERE's patterns can match are fetched by predicate, this request's effect is applied
        to them in a scratch store, and the WHERE runs there. A WHERE that could match any
        predicate (a variable or negated predicate) is refused."""
        try:
            patterns = list(triple_patterns(prepareQuery(step.select).algebra, graphs=True))
            predicates = {
                path_step.predicate
                for _, path, _ in patterns
                for steps in sparql_path(path)
                for path_step in steps
            }
        except (Unbounded, ParseBaseException, ValueError, SyntaxError) as exc:
            raise QueryRefused(
                "on an external SPARQL store, an operation with WHERE that follows a change in "
                f"the same request must use fixed predicates ({exc}); send them one at a time"
            ) from None
        fetched = await self.store.match(
            [(None, ox.NamedNode(p), None, None) for p in sorted(predicates)]
        )
        if len(fetched) > effect.max_quads * 10:
            raise ResultTooLarge("the update's WHERE would read too much of the store; split it")
        scratch = ox.Store()
        union.add(scratch, [q for q in fetched if q not in effect.removed])
        union.add(scratch, [q for q in effect.added if q.predicate.value in predicates])
        return _scratch_solutions(scratch, step, limit)

    async def match(self, patterns: Sequence[Pattern]) -> list[ox.Quad]:
        return await self.store.match(patterns)

    async def graph_names(self) -> list[str]:
        return await self.store.graph_names()

    async def graph_quads(self, name: str) -> list[ox.Quad]:
        return await self.store.graph_quads(name)


def _scratch_solutions(scratch: ox.Store, step: PatternStep, limit: int) -> list[ox.QuerySolution]:
    """The step's solutions on ``scratch``, read whole here. A function of its own: the caller's
    frame outlives it (rdflib's parser leaves reference cycles through the frames it was called
    from), and pyoxigraph's solution iterator must not be dropped later on another thread."""
    kwargs: dict[str, Any] = {}
    if step.default_graphs is not None or step.named_graphs is not None:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in step.default_graphs or ()]
        if step.named_graphs is not None:
            kwargs["named_graphs"] = [ox.NamedNode(g) for g in step.named_graphs]
    solutions = scratch.query(step.bounded_select(limit), **kwargs)
    if not isinstance(solutions, ox.QuerySolutions):
        raise QueryError("an update's WHERE gave no solutions")
    return list(solutions)

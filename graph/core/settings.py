"""Settings: one class, read from ``IJKG_*`` environment variables, built where the app is built.

Nothing reads the environment at import time: ``create_app(Settings(...))`` and the CLI build
it, and tests pass values directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from platformdirs import user_data_dir
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Names of this machine that a request may always use: they point nowhere an attacker controls.
LOOPBACK_HOSTS = (".localhost", "localhost", "127.0.0.1", "::1")


def _default_data_dir() -> Path:
    return Path(user_data_dir("ijkg", appauthor=False))


class Settings(BaseSettings):
    """Every knob of the service and the store. Each field is ``IJKG_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="IJKG_", extra="ignore", frozen=True)

    # --- where and how the service listens -------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface `ijkg serve` binds to.")
    port: int = Field(8000, ge=0, le=65535, description="Port `ijkg serve` listens on.")
    http: Literal["httptools", "h11"] = Field(
        "httptools",
        description="HTTP/1.1 parser of `ijkg serve`, both with the same connection guards: "
        "httptools (llhttp, in C) or h11 (pure Python, slower); h11 where httptools is not "
        "installed.",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="Time a client has to send a request's head (line and headers), from "
        "connecting or from the previous answer; past it: 408 and the connection is closed.",
    )
    body_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Time a client has to send a request body once its head is in; past it: 408.",
    )
    send_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Time a client may go without taking any more of its answer; past it the "
        "connection is cut (the unsent answer is not held in memory for it).",
    )
    max_connections: int = Field(
        512,
        ge=1,
        description="Connections (and requests in progress) one service process holds at once; "
        "past it new requests get 503.",
    )
    base_url: str | None = Field(
        None,
        description="The service's public URL (scheme://host[:port]), for every absolute link it "
        "writes (JSON-LD @context, JSON links, sd:endpoint, redirects), whatever Host a request "
        "names. Unset: links use the request's Host, which must then be an allowed one.",
    )
    allowed_hosts: str = Field(
        "",
        description="Host names requests may name (comma-separated; '.example.org' also allows "
        "its subdomains, '*' any name); others get 400. Empty: the host of IJKG_BASE_URL if "
        "set, else the address the service binds to; loopback names are always allowed.",
    )
    max_connections_per_client: int = Field(
        64,
        ge=1,
        description="Connections one client address may hold open at once; past it a new "
        "connection is answered 429 and closed at once (a slowloris from one address leaves the "
        "rest of IJKG_MAX_CONNECTIONS to others).",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="Logs on stderr: json (one object per line), text, or auto (text on a "
        "terminal, JSON otherwise).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Least severe log messages written."
    )

    # --- the embedded store ----------------------------------------------------------------
    store: Literal["embedded", "sparql", "memory"] = Field(
        "embedded",
        description="Store implementation: the embedded Oxigraph engine, or any SPARQL 1.1 "
        "Query + Update endpoint (IJKG_SPARQL_*), or (for tests and trying the service out) "
        "memory: Oxigraph in the service's own process, kept nowhere, whose queries cannot be "
        "stopped at their time limit.",
    )
    sparql_query_url: str | None = Field(
        None, description="SPARQL 1.1 Query endpoint of the external store."
    )
    sparql_update_url: str | None = Field(
        None, description="SPARQL 1.1 Update endpoint of the external store."
    )
    sparql_store_url: str | None = Field(
        None, description="Graph Store Protocol endpoint of the external store (optional)."
    )
    sparql_user: str | None = Field(None, description="User for HTTP basic auth to the store.")
    sparql_password: str | None = Field(
        None, description="Password for HTTP basic auth to the store."
    )
    sparql_union: Literal["mirror", "native"] = Field(
        "mirror",
        description="mirror: ijkg keeps the union of the named graphs in the store's default "
        "graph; native: the store's default graph already is that union, as a set.",
    )
    version_replica: bool = Field(
        True,
        description="With an external store: answer queries at an older version from a local "
        "copy of the graph and its history, built in each service process on the first such "
        "query (memory: one more copy of the graph per process). Off: such queries are refused.",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory of the embedded store (snapshot, change log); with an external "
        "store, the state the service workers of one host share. Made on first run.",
    )
    fsync: bool = Field(
        True,
        description="fsync the change log on every commit, so an acknowledged write survives a "
        "power loss and not only a process crash.",
    )
    snapshot_every_mb: int = Field(
        64, ge=1, description="Write a new snapshot once the change log grows past this size."
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="Service processes `ijkg serve` runs behind its port (its --workers). "
        "Unset: as many as the machine has cores.",
    )
    engine_socket: str | None = Field(
        None,
        description="Set by `ijkg serve` for its service processes, not by hand: the control "
        "socket of the embedded store engine they share.",
    )

    # --- writes ----------------------------------------------------------------------------
    write_tokens: str = Field(
        "",
        description="Who may write: comma-separated name=token pairs (curator=s3cret,editor=x). "
        "The name is recorded as who made each change. Empty: the service is read-only.",
    )
    admin_tokens: str = Field(
        "",
        description="Like write_tokens, for tokens that may also write the ontology and shapes "
        "graphs and clear whole graphs (DROP ALL, CLEAR ALL).",
    )
    write_graph: str = Field(
        "https://w3id.org/ijkg/graph/curated",
        description="Named graph for triples written without a graph (SPARQL Update without "
        "GRAPH, Graph Store writes to the default graph).",
    )
    max_change_quads: int = Field(
        100_000, ge=1, description="Most quads one change (or update) may add and remove."
    )
    max_body_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )

    # --- query limits ----------------------------------------------------------------------
    query_workers: int = Field(
        2, ge=1, le=64, description="Processes answering queries in parallel."
    )
    query_timeout_s: float = Field(
        10.0, gt=0, description="Time limit of one query; past it the query is stopped (503)."
    )
    update_lock_timeout_s: float = Field(
        2.0,
        gt=0,
        description="Time limit of an update's effect when it is computed while holding the "
        "writers' lock (after other writes overtook it three times outside it); other writers "
        "wait at most this long for it.",
    )
    query_memory_mb: int = Field(
        1024, ge=64, description="Memory one query may allocate beyond the store itself."
    )
    max_concurrent_queries: int = Field(
        32, ge=1, description="Queries running or waiting at once; more get 503."
    )
    max_queries_per_client: int | None = Field(
        None,
        ge=1,
        description="SPARQL queries and validations one client address may have running or "
        "waiting at once; past it: 429. Unset: half of IJKG_QUERY_WORKERS, at least one, so one "
        "address never holds every query worker.",
    )
    max_query_bytes: int = Field(
        65536, ge=256, description="Longest accepted query or update text, in bytes."
    )
    max_query_depth: int = Field(
        64, ge=4, description="Deepest accepted nesting of brackets in a query or update."
    )
    max_result_rows: int = Field(
        100_000, ge=1, description="Most solutions or triples one result may hold."
    )
    max_result_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="Largest serialised result, in bytes."
    )
    query_cache_mb: int = Field(
        64,
        ge=0,
        description="Memory each service process keeps answers of repeated queries in, for as "
        "long as the graph is at the version they were computed at (answers over 256 KiB and "
        "queries using NOW(), RAND(), UUID(), BNODE() are not kept); 0 turns the cache off. "
        "Not used with an external store (IJKG_STORE=sparql): others may write to it.",
    )
    # --- validation of submitted RDF (POST /validate) ---------------------------------------
    validate_workers: int = Field(
        1,
        ge=1,
        le=16,
        description="Processes validating submitted RDF (POST /validate) in parallel; a "
        "validation past its limits has its process killed and replaced. More validations at "
        "once get 503.",
    )
    validate_timeout_s: float = Field(
        30.0, gt=0, description="Time limit of one validation; past it the validation is stopped."
    )
    validate_memory_mb: int = Field(
        1024, ge=64, description="Memory one validation may allocate beyond its process's own."
    )
    max_validate_quads: int = Field(
        50_000, ge=1, description="Most quads one validation may submit; more are refused (413)."
    )
    allow_federation: bool = Field(
        False,
        description="Let queries use SERVICE to call other SPARQL endpoints. Off by default: "
        "then no query reaches the network (SERVICE is refused with 400, and query workers run "
        "without network access where the system allows it).",
    )

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"IJKG_BASE_URL is an http(s) URL, not {value!r}")
        if parts.path.strip("/") or parts.query or parts.fragment or parts.username:
            raise ValueError(
                f"IJKG_BASE_URL is scheme://host[:port] only (the service is served at the root "
                f"of its host), not {value!r}"
            )
        return f"{parts.scheme}://{parts.netloc.lower()}"

    def service_processes(self) -> int:
        """``workers``, or its default: the machine's cores."""
        return self.workers or os.cpu_count() or 1

    def queries_per_client(self) -> int:
        """``max_queries_per_client``, or its default from the number of query workers."""
        if self.max_queries_per_client is not None:
            return self.max_queries_per_client
        return max(1, self.query_workers // 2)

    def host_patterns(self) -> tuple[str, ...]:
        """The Host names requests may name (lower case, no port), as configured or derived
        (see ``allowed_hosts``); loopback names are always among them."""
        configured = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if not configured:
            if self.base_url is not None:
                configured = [urlsplit(self.base_url).hostname or ""]
            elif self.host not in ("0.0.0.0", "::", ""):  # noqa: S104 - names, not a bind
                configured = [self.host.lower()]
        return (*configured, *LOOPBACK_HOSTS)

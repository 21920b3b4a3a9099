"""The ``ijkg`` command: serve, load, validate, query and export the knowledge graph.

Each command is a thin shell over ``ijkg.graph``; the store is the one ``IJKG_DATA_DIR`` points at
(or ``--data-dir``). Only one process may have a store open: stop ``ijkg serve`` before loading
into its store from the command line.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ijkg.graph import (
    RDF_SYNTAXES,
    RESULTS_JSON,
    BadMetadata,
    ChangeLogCorrupt,
    ChangeTooLarge,
    Delta,
    Forbidden,
    IjkgError,
    KnowledgeGraph,
    Loaded,
    QueryError,
    QuerySyntaxError,
    RdfSyntax,
    RdfSyntaxError,
    Settings,
    StoreError,
    StoreLocked,
    UnsupportedFormat,
    ValidationFailed,
    ValidationReport,
    ValidationResult,
    find_line,
    from_sparql_json,
    plan_repair,
    preflight,
    rdf_syntax_for_name,
    read_rdf_file,
    repair_store,
    report_graph,
    results_format_for,
    write_nquads,
)
from ijkg.service.terminal import printable

app = typer.Typer(
    name="ijkg",
    help="The India–Japan knowledge graph: serve it, load and validate data, query and export it.",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()
T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Store directory (default: IJKG_DATA_DIR or a per-user data folder)."
    ),
]
InputFormat = Annotated[
    str | None,
    typer.Option(
        "--input-format",
        "-i",
        help="Syntax of the files when the extension does not tell: "
        + ", ".join(s.name for s in RDF_SYNTAXES),
    ),
]
GraphOption = Annotated[
    str | None,
    typer.Option(
        "--graph",
        "-g",
        help="Named graph for triples outside any graph "
        "(default: https://w3id.org/ijkg/graph/<file-name>).",
    ),
]


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def _with_graph(
    settings: Settings, work: Callable[[KnowledgeGraph], Awaitable[T]], *, load_bundle: bool = True
) -> T:
    """Open the graph (loading the bundled graph on first use, unless ``load_bundle`` is false),
    run ``work``, close it."""

    async def run() -> T:
        async with await KnowledgeGraph.open(settings, load_bundle=load_bundle) as graph:
            return await work(graph)

    return asyncio.run(run())


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(printable(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


# --- serve -------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (IJKG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (IJKG_PORT).")] = None,
    data_dir: DataDir = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Service processes behind the port. More than one needs an external store "
            "(IJKG_STORE=sparql): the embedded store belongs to one process.",
        ),
    ] = 1,
) -> None:
    """Start the HTTP service (SPARQL, entities, changes) on the store, loading the bundled graph
    on first start."""
    import uvicorn

    from ijkg.service.app import create_app
    from ijkg.service.logs import logging_config
    from ijkg.service.request_log import MAX_HEAD_BYTES

    settings = _settings(data_dir, host=host, port=port)
    if workers > 1 and settings.store != "sparql":
        raise _fail("--workers > 1 needs an external store (IJKG_STORE=sparql)", 2)
    if settings.store == "embedded":
        # A store another process holds, or a directory this one cannot write: say so in one
        # sentence now, rather than in a traceback from inside the server's start-up.
        try:
            preflight(settings.data_dir)
        except StoreError as exc:
            raise _fail(str(exc), 2) from None
    print(
        f"ijkg: serving the India–Japan knowledge graph on http://{settings.host}:{settings.port} "
        f"({workers} worker(s), store: "
        f"{settings.data_dir if settings.store == 'embedded' else settings.sparql_query_url}); "
        "SPARQL at /sparql, API docs at /docs",
        flush=True,
    )
    server_options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        # Slow clients are cut off (request head and unread bodies, see ijkg.service.protocol),
        # connections are capped, and the logs are ijkg's (JSON lines with request ids).
        "http": "ijkg.service.protocol:GuardedH11Protocol",
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "limit_concurrency": settings.max_connections,
        "log_config": logging_config(settings.log_format, settings.log_level),
        "log_level": settings.log_level,
        "access_log": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **server_options)
        return
    # Worker processes build their own app from the environment: hand the options on that way.
    os.environ["IJKG_DATA_DIR"] = str(settings.data_dir)
    uvicorn.run(
        "ijkg.service.app:app_from_environment", factory=True, workers=workers, **server_options
    )


# --- load and validate --------------------------------------------------------------------------


def _read_files(
    files: list[Path], input_format: str | None, graph: str | None, *, show_progress: bool
) -> Delta:
    syntax: RdfSyntax | None = rdf_syntax_for_name(input_format) if input_format else None
    quads = []
    total = sum(f.stat().st_size for f in files)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not show_progress or total < 1 << 20,
        transient=True,
    ) as bar:
        task = bar.add_task("reading", total=total)
        for path in files:
            bar.update(task, description=f"reading {path.name}")
            quads += read_rdf_file(
                path, syntax=syntax, graph=graph, progress=lambda n: bar.advance(task, n)
            )
    return Delta(adds=tuple(quads))


def _print_report(report: ValidationReport, files: list[Path], fmt: str) -> None:
    if fmt == "json":
        from ijkg.service.problems import report_json

        out.print_json(json.dumps(report_json(report)))
        return
    if fmt in ("turtle", "ttl", "jsonld", "json-ld"):
        syntax = "json-ld" if fmt.startswith("json") else "turtle"
        sys.stdout.write(report_graph(report).serialize(format=syntax))
        return
    texts = {path: path.read_text(encoding="utf-8", errors="replace") for path in files}
    for result in report.results:
        where = ""
        iri = result.focus_node.strip("<>")
        for path, text in texts.items():
            line = find_line(text, iri)
            if line is not None:
                where = f"{path}:{line}: "
                break
        colour = "red" if result.severity == "Violation" else "yellow"
        shape = result.source_shape.strip("<>").rsplit("#", 1)[-1]
        path_text = f" {result.path}" if result.path else ""
        details = printable(f"{shape}: {result.focus_node}{path_text}: {result.message}")
        out.print(
            f"{escape(printable(where))}[{colour}]{result.severity}[/] {escape(details)}",
            highlight=False,
        )
    verdict = "conforms" if report.conforms else "does not conform"
    out.print(
        f"{len(report.violations)} violation(s), {len(report.warnings)} warning(s): the graph "
        f"{verdict} with these files merged in.",
        highlight=False,
    )


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="RDF files to check.", exists=True)],
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="Report format: text, json or turtle.")
    ] = "text",
    input_format: InputFormat = None,
    graph: GraphOption = None,
    against: Annotated[
        str | None,
        typer.Option(
            "--against",
            help="Validate against the current graph of a running service at this URL "
            "(e.g. http://127.0.0.1:8000) instead of the local store.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Validate FILES as if merged into the current graph; nothing is written.

    Exit status: 0 the result conforms, 1 SHACL violations, 2 unreadable input. Usable as a
    pre-commit hook or CI step of a data repository.
    """
    try:
        delta = _read_files(files, input_format, graph, show_progress=output_format == "text")
    except (RdfSyntaxError, UnsupportedFormat, OSError) as exc:
        raise _fail(str(exc), 2) from None
    if against is not None:
        report = _validate_remotely(against, delta, output_format)
    else:
        try:

            async def check(graph: KnowledgeGraph) -> ValidationReport:
                return await graph.curation.check(delta)

            report = _with_graph(_settings(data_dir), check)
        except StoreLocked as exc:
            raise _fail(
                f"{exc}; validate against the running service with --against URL", 2
            ) from None
        except StoreError as exc:
            raise _fail(str(exc), 2) from None
    _print_report(report, files, output_format)
    raise typer.Exit(0 if report.conforms else 1)


def _validate_remotely(url: str, delta: Delta, output_format: str) -> ValidationReport:
    """Ask a running service (``POST /validate``) to judge ``delta`` against its current graph."""
    body = write_nquads(delta.adds)
    try:
        answer = httpx.post(
            url.rstrip("/") + "/validate",
            content=body,
            headers={"Content-Type": "application/n-quads", "Accept": "application/json"},
            timeout=120,
        )
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach {url}: {exc}", 2) from None
    if answer.status_code != 200:
        raise _fail(f"{url} answered {answer.status_code}: {answer.text[:500]}", 2)
    return report_from_json(answer.json())


def report_from_json(data: dict[str, Any]) -> ValidationReport:
    """A report as ``POST /validate`` sends it, back as a typed report."""

    def n3(value: str | None) -> str | None:
        if value is None:
            return None
        return value if value.startswith(("<", '"', "_:")) else f"<{value}>"

    return ValidationReport(
        tuple(
            ValidationResult(
                focus_node=n3(r["focusNode"]) or "",
                severity=r["severity"],
                message=r["message"],
                source_shape=n3(r["sourceShape"]) or "",
                constraint="http://www.w3.org/ns/shacl#" + r["constraint"],
                path=n3(r.get("path")),
                value=r.get("value"),
            )
            for r in data["results"]
        )
    )


@app.command()
def load(
    files: Annotated[list[Path], typer.Argument(help="RDF files to add.", exists=True)],
    input_format: InputFormat = None,
    graph: GraphOption = None,
    data_dir: DataDir = None,
) -> None:
    """Add FILES to the store, through the same SHACL gate as every other write: if the graph
    would not conform afterwards, nothing is written and the report says why (exit 1)."""
    try:
        delta = _read_files(files, input_format, graph, show_progress=True)
    except (RdfSyntaxError, UnsupportedFormat, OSError) as exc:
        raise _fail(str(exc), 2) from None
    settings = _settings(data_dir)
    title = "ijkg load " + " ".join(f.name for f in files)

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "focus nodes",
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=len(delta.adds) < 10_000,
    ) as bar:
        task = bar.add_task("validating", total=None)

        def validated(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        async def write(graph: KnowledgeGraph) -> Loaded:
            return await graph.curation.load(
                delta, who=getpass.getuser(), title=title, progress=validated
            )

        try:
            loaded = _with_graph(settings, write)
        except ValidationFailed as exc:
            bar.stop()
            _print_report(exc.report, files, "text")
            raise _fail("nothing was loaded", 1) from None
        except (StoreError, Forbidden, ChangeTooLarge, BadMetadata) as exc:
            raise _fail(str(exc), 2) from None
    new = len({q for q in loaded.change.adds})
    out.print(
        f"loaded {new} triple(s) from {len(files)} file(s) as change {loaded.change.slug}; the "
        f"graph is now at version {loaded.version} ({loaded.warnings} warning(s))",
        highlight=False,
    )


# --- query and export ---------------------------------------------------------------------------


@app.command()
def query(
    text: Annotated[
        str | None, typer.Argument(help="The SPARQL query ('-' reads it from stdin).")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Read the query from a file.", exists=True)
    ] = None,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="table (default), or a results format (json, xml, csv, tsv) for SELECT/ASK, or an "
            "RDF syntax (turtle, ntriples, jsonld, rdfxml, trig, nquads) for CONSTRUCT/DESCRIBE.",
        ),
    ] = "table",
    data_dir: DataDir = None,
) -> None:
    """Run a SPARQL query on the store and print the answer. The default graph is the union of
    all named graphs."""
    if file is not None:
        sparql = file.read_text(encoding="utf-8")
    elif text == "-" or text is None:
        sparql = sys.stdin.read()
    else:
        sparql = text
    settings = _settings(data_dir)
    table = output_format == "table"
    try:
        results = RESULTS_JSON if table else _optional(results_format_for, output_format)
        rdf = (
            rdf_syntax_for_name("turtle")
            if table
            else _optional(rdf_syntax_for_name, output_format)
        )
    except UnsupportedFormat as exc:
        raise _fail(str(exc), 2) from None
    if results is None and rdf is None:
        raise _fail(f"unknown format {output_format!r}", 2)
    try:
        answer = _with_graph(
            settings, lambda graph: graph.sparql.query(sparql, results=results, rdf=rdf)
        )
    except StoreError as exc:
        raise _fail(str(exc), 2) from None
    except (QueryError, UnsupportedFormat) as exc:
        where = ""
        if isinstance(exc, QuerySyntaxError) and exc.line is not None:
            where = f" (line {exc.line}, column {exc.column})"
        raise _fail(f"{exc}{where}", 1) from None
    if table and answer.form != "graph":
        _print_table(json.loads(answer.body))
    else:
        sys.stdout.buffer.write(answer.body)
        if not answer.body.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")


def _optional(parse: Callable[[str], T], name: str) -> T | None:
    try:
        return parse(name)
    except UnsupportedFormat:
        return None


def _print_table(data: dict[str, Any]) -> None:
    if "boolean" in data:
        out.print("true" if data["boolean"] else "false")
        return
    variables = data["head"]["vars"]
    table = Table(*variables, show_lines=False)
    rows = data["results"]["bindings"]
    for row in rows:
        table.add_row(
            *(Text(printable(str(from_sparql_json(row[v])))) if v in row else "" for v in variables)
        )
    out.print(table)
    out.print(f"{len(rows)} row(s)", highlight=False)


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    graph: Annotated[
        list[str] | None, typer.Option("--graph", "-g", help="Only these named graphs.")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write every named graph (or the ones given) as N-Quads: a complete backup (data, ontology,
    shapes and the history of changes) that ``ijkg restore`` reads back."""
    try:
        data = _with_graph(_settings(data_dir), lambda knowledge: knowledge.export(graph))
    except StoreError as exc:
        raise _fail(str(exc), 2) from None
    except IjkgError as exc:
        raise _fail(str(exc), 1) from None
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        quads = data.count(b"\n")
        err.print(f"wrote {quads:,} quads to {output}", highlight=False)


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="An N-Quads backup written by ijkg export.")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option(help="Restore even if the restored data would not conform.")
    ] = False,
) -> None:
    """Replace everything in the store with a backup, in one atomic commit (validated like any
    write). Stop ``ijkg serve`` first: one process owns a store."""
    try:
        quads = read_rdf_file(file, syntax=rdf_syntax_for_name("nquads"))
    except (RdfSyntaxError, UnsupportedFormat, OSError) as exc:
        raise _fail(str(exc), 2) from None

    try:
        # A restore brings its own bundle: the package's is loaded after it, if newer.
        commit = _with_graph(
            _settings(data_dir),
            lambda graph: graph.restore(quads, force=force),
            load_bundle=False,
        )
    except ValidationFailed as exc:
        _print_report(exc.report, [file], "text")
        raise _fail("nothing was restored (use --force to restore anyway)", 1) from None
    except (IjkgError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    out.print(
        f"restored {len(quads):,} quads ({commit.removed:,} removed, {commit.added:,} added); the "
        f"store is at version {commit.version_after}",
        highlight=False,
    )


@app.command()
def repair(
    data_dir: DataDir = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Do it (without it: say what would be done, change nothing)."),
    ] = False,
) -> None:
    """Rebuild a damaged embedded store from its last good snapshot and every readable record,
    when the store refuses to start because its files are damaged. The damaged files are moved
    into damaged-<time>/ in the store's directory, never deleted. Stop ``ijkg serve`` first."""
    settings = _settings(data_dir)
    if settings.store != "embedded":
        raise _fail(
            "ijkg repair works on the embedded store; an external store has its own tools", 2
        )
    directory = settings.data_dir
    if not directory.is_dir():
        raise _fail(f"there is no store in {directory}", 2)
    try:
        if yes:
            result = repair_store(directory)
        else:
            preflight(directory, check_files=False)
            result = plan_repair(directory)
    except (StoreError, OSError, ChangeLogCorrupt) as exc:
        raise _fail(str(exc), 2) from None
    if not result.needed:
        out.print(
            f"the store in {directory} is not damaged (version {result.version}); nothing to do",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        return
    for damage in result.damage:
        err.print(f"damaged: {damage}", highlight=False, markup=False, soft_wrap=True)
    if not yes:
        out.print(
            f"a repair would rebuild the store at version {result.version}: {result.lost()}; "
            "nothing was changed: run again with --yes to do it",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    out.print(
        f"repaired: the store in {directory} is at version {result.version}; {result.lost()}; "
        f"the files it replaced are in {result.aside}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )


changes_app = typer.Typer(
    help="Proposed and merged changes on a running service: list, show, merge, reject, revert.",
    no_args_is_help=True,
)
app.add_typer(changes_app, name="changes")

ServiceUrl = Annotated[
    str, typer.Option("--url", envvar="IJKG_URL", help="The service (default: IJKG_URL).")
]
Token = Annotated[
    str | None,
    typer.Option("--token", envvar="IJKG_TOKEN", help="Bearer token for writes (IJKG_TOKEN)."),
]


def _call(method: str, url: str, path: str, token: str | None = None, **params: Any) -> Any:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        answer = httpx.request(
            method,
            url.rstrip("/") + path,
            params={k: v for k, v in params.items() if v is not None},
            headers=headers,
            timeout=120,
        )
    except httpx.HTTPError as exc:
        raise _fail(f"cannot reach {url}: {exc}", 2) from None
    if answer.status_code >= 400:
        try:
            problem = answer.json()
            message = f"{problem.get('title')}: {problem.get('detail')}"
        except ValueError:
            message = answer.text[:500]
        if answer.status_code == 422:
            out.print_json(json.dumps(problem.get("report", {})))
        raise _fail(f"{answer.status_code} {message}", 1)
    return answer.json()


def _change_line(change: dict[str, Any]) -> str:
    """One line for a change, every field from the service made printable (see ``terminal``):
    print it with ``markup=False``."""
    merge = change.get("merge") or {}
    versions = f" v{merge['versionBefore']}→v{merge['versionAfter']}" if merge else ""
    return printable(
        f"{change['id']}  {change['status']:<8} {change['writePath']:<11} {change['author']:<10} "
        f"{str(change['created'])[:19]}{versions}  {change['title']}"
    )


def _say(text: str) -> None:
    """Print text that came from the service: no markup, no highlighting, no wrapping."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


@changes_app.command("list")
def changes_list(
    url: ServiceUrl = "http://127.0.0.1:8000",
    status: Annotated[str | None, typer.Option(help="proposed, merged or rejected")] = None,
    touching: Annotated[str | None, typer.Option(help="Only changes that touched this IRI")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
) -> None:
    """List changes, newest first."""
    for change in _call("GET", url, "/changes", status=status, touching=touching, limit=limit):
        _say(_change_line(change))


@changes_app.command("show")
def changes_show(change_id: str, url: ServiceUrl = "http://127.0.0.1:8000") -> None:
    """Show a change: its status, history, diff and (if proposed) its report as of now."""
    change = _call("GET", url, f"/changes/{change_id}")
    _say(_change_line(change))
    if change.get("description"):
        _say(printable(change["description"], multiline=True))
    for sign, key in (("-", "removals"), ("+", "additions")):
        for line in change[key].split("\n"):
            if line:
                _say(printable(f"{sign} {line}"))
    if change.get("report"):
        report = change["report"]
        out.print(
            f"as of now: {'conforms' if report['conforms'] else 'does not conform'} "
            f"({report['violations']} violation(s), {report['warnings']} warning(s))",
            highlight=False,
        )


@changes_app.command("merge")
def changes_merge(
    change_id: str, url: ServiceUrl = "http://127.0.0.1:8000", token: Token = None
) -> None:
    """Merge a proposed change (validated again against the current graph)."""
    _say(_change_line(_call("POST", url, f"/changes/{change_id}/merge", token)))


@changes_app.command("reject")
def changes_reject(
    change_id: str,
    url: ServiceUrl = "http://127.0.0.1:8000",
    token: Token = None,
    reason: Annotated[str, typer.Option(help="Why")] = "",
) -> None:
    """Reject a proposed change."""
    _say(_change_line(_call("POST", url, f"/changes/{change_id}/reject", token, reason=reason)))


@changes_app.command("revert")
def changes_revert(
    change_id: str, url: ServiceUrl = "http://127.0.0.1:8000", token: Token = None
) -> None:
    """Revert a merged change with a new, validated change that undoes it."""
    _say(_change_line(_call("POST", url, f"/changes/{change_id}/revert", token)))


def main() -> None:
    """Entry point of the ``ijkg`` console script."""
    app()


__all__ = ["app", "main"]

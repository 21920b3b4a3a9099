"""The ``ijkg`` command: serve, load, validate, query and export the knowledge graph.

Each command is a thin shell over ``ijkg.graph``; the store is the one ``IJKG_DATA_DIR`` points at
(or ``--data-dir``). Only one process may have a store open: stop ``ijkg serve`` before loading
into its store from the command line. Commands that read or write a store say which one they use,
and never make a new one by accident: only ``serve``, ``init`` and ``restore`` make a store.

Output is for people on a terminal and for scripts elsewhere: when a stream is not a terminal,
nothing is wrapped (one message, one line), and ``--format json`` gives what a program reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import gzip
import inspect
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, TypeVar

import httpx
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
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
    Mirror,
    MirrorFailed,
    MirrorStep,
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
    holds_store,
    plan_repair,
    preflight,
    rdf_syntax_for_name,
    read_rdf_file,
    repair_store,
    report_graph,
    results_format_for,
    shared_store,
    write_nquads,
)
from ijkg.service.terminal import printable

app = typer.Typer(
    name="ijkg",
    no_args_is_help=True,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()
# Off a terminal (a pipe, a CI log) a message stays on one line, whatever its length: rich would
# otherwise wrap it at 80 columns, and one result would span lines no grep can match.
for _console in (out, err):
    _console.soft_wrap = not _console.is_terminal
T = TypeVar("T")


def _version() -> str:
    try:
        return version("ijkg")
    except PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def _print_version(asked: bool) -> None:
    if asked:
        print(f"ijkg {_version()} (bundled graph {KnowledgeGraph.bundle_version()[:12]})")
        raise typer.Exit(0)


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version of ijkg and of its bundled graph, and exit.",
        ),
    ] = False,
) -> None:
    """The India–Japan knowledge graph: serve it, load and validate data, query and export it.

    Commands that read or write a store use the one in --data-dir, else IJKG_DATA_DIR, else a
    per-user data folder; the running service's store is the one it printed as it started. One
    process owns a store: while `ijkg serve` runs, use its HTTP API (or stop it first).
    """


DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Store directory (default: IJKG_DATA_DIR, else a per-user data folder); the "
        "service's is the one ijkg serve printed as it started.",
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
        help="Named graph for triples outside any graph (default: one graph per file, "
        "https://w3id.org/ijkg/graph/<file-name>; writes over HTTP go to IJKG_WRITE_GRAPH, "
        "https://w3id.org/ijkg/graph/curated, instead).",
    ),
]


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    try:
        return Settings(**values)
    except ValidationError as exc:
        # One line per bad setting, named as the user set it, rather than pydantic's report.
        problems = "; ".join(
            f"IJKG_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        )
        raise _fail(f"a setting is not valid: {problems}", 2) from None


def _chosen_by(data_dir: Path | None) -> str:
    """Where the data directory came from, in the words a user would change it with."""
    if data_dir is not None:
        return "from --data-dir"
    if os.environ.get("IJKG_DATA_DIR"):
        return "from IJKG_DATA_DIR"
    return "the default: set IJKG_DATA_DIR or --data-dir to choose another"


def _store(data_dir: Path | None, command: str, *, make: bool = False) -> Settings:
    """The settings of the store ``command`` is to use, said on stderr. Unless ``make``, a data
    directory that holds no store is refused: a forgotten ``IJKG_DATA_DIR`` must not quietly give
    a new, different store (with only the bundled graph in it) instead of the service's."""
    settings = _settings(data_dir)
    if settings.store != "embedded":
        where = settings.sparql_query_url if settings.store == "sparql" else "memory"
        err.print(
            f"ijkg {command}: using the {settings.store} store {where}",
            highlight=False,
            markup=False,
        )
        return settings
    directory = settings.data_dir.absolute()
    if not make and not holds_store(directory):
        raise _fail(
            f"there is no store in {directory} ({_chosen_by(data_dir)}), and ijkg {command} does "
            "not make one: point --data-dir or IJKG_DATA_DIR at the data directory the service "
            "uses (ijkg serve prints it as it starts), or run `ijkg init` to make a new store "
            "there",
            2,
        )
    err.print(
        f"ijkg {command}: using the store in {directory} ({_chosen_by(data_dir)})",
        highlight=False,
        markup=False,
    )
    return settings


def _count(n: int, noun: str) -> str:
    """``_count(20000, "triple")`` -> ``'20,000 triples'``; ``_count(1, "file")``: ``'1 file'``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


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

_START_S = 60  # how long a service process of ``serve --workers N`` may take to start


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (IJKG_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (IJKG_PORT).")] = None,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Service processes behind the port (IJKG_WORKERS; default: one per core). "
            "They share the store: on the embedded store one engine, its limits and its query "
            "workers (IJKG_QUERY_WORKERS in all, shared out).",
        ),
    ] = None,
) -> None:
    """Start the HTTP service (SPARQL, entities, changes) on the store.

    A data directory without a store gets a new one, with the bundled graph.
    """
    import uvicorn

    from ijkg.service.app import create_app
    from ijkg.service.logs import logging_config
    from ijkg.service.protocol import uvicorn_protocol
    from ijkg.service.request_log import MAX_HEAD_BYTES

    settings = _settings(data_dir, host=host, port=port)
    if settings.store == "memory":
        # A store in this process's memory: other processes could not share it.
        if (workers or settings.workers or 1) > 1:
            raise _fail("--workers > 1 needs a store on disk or an external one", 2)
        workers = 1
    workers = workers or settings.service_processes()
    if settings.store == "embedded":
        # A store another process holds, or a directory this one cannot write: say so in one
        # sentence now, rather than in a traceback from inside the server's start-up.
        try:
            preflight(settings.data_dir)
        except StoreError as exc:
            raise _fail(str(exc), 2) from None
    if settings.store == "embedded":
        # Said at start, so that a data directory other than the intended one shows at once.
        store = f"store: {settings.data_dir.absolute()}, {_chosen_by(data_dir)}"
        if not holds_store(settings.data_dir):
            store += "; a new store: the bundled graph is loaded into it"
    else:
        store = f"store: {settings.sparql_query_url}"
    print(
        f"ijkg: serving the India–Japan knowledge graph on http://{settings.host}:{settings.port} "
        f"({_count(workers, 'worker')}, {store}); SPARQL at /sparql, API docs at /docs",
        flush=True,
    )
    server_options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        # Slow clients are cut off (request head and unread bodies, see ijkg.service.protocol),
        # connections are capped, and the logs are ijkg's (JSON lines with request ids).
        "http": uvicorn_protocol(settings.http),
        # The head cap of either protocol (h11 holds it; the httptools one counts it).
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        # uvloop where it is installed (a dependency), else asyncio's own loop.
        "loop": "auto",
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
    with contextlib.ExitStack() as stack:
        if settings.store == "embedded":
            try:
                each = stack.enter_context(shared_store(settings, workers))
            except StoreError as exc:
                raise _fail(str(exc), 2) from None
            os.environ["IJKG_ENGINE_SOCKET"] = str(each.engine_socket)
            os.environ["IJKG_QUERY_WORKERS"] = str(each.query_workers)
        uvicorn.run(
            "ijkg.service.app:app_from_environment",
            factory=True,
            workers=workers,
            # A process answers uvicorn's health pings only once it has imported the service:
            # on a busy machine that takes longer than uvicorn's 5 s, and it would be killed
            # and started again, over and over, as it starts.
            timeout_worker_healthcheck=_START_S,
            **server_options,
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


def _explained_json(report: ValidationReport, explained: list[dict[str, Any]]) -> dict[str, Any]:
    """The report as ``POST /validate`` answers it: verdict, counts, every result explained."""
    from ijkg.service.problems import report_json

    data = report_json(report)
    if explained:
        data["results"] = explained
    return data


def _print_report(
    report: ValidationReport,
    files: list[Path],
    fmt: str,
    explained: list[dict[str, Any]] | None = None,
) -> None:
    """Print a report: one line per result (where in the files, severity, shape, node, message,
    and the fix the graph suggests, if any), then the verdict; or the report as JSON or RDF."""
    explained = explained or []
    if fmt == "json":
        sys.stdout.write(json.dumps(_explained_json(report, explained), indent=2) + "\n")
        return
    if fmt in ("turtle", "ttl", "jsonld", "json-ld"):
        syntax = "json-ld" if fmt.startswith("json") else "turtle"
        sys.stdout.write(report_graph(report).serialize(format=syntax))
        return
    texts = {path: path.read_text(encoding="utf-8", errors="replace") for path in files}
    for at, result in enumerate(report.results):
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
        details = f"{shape}: {result.focus_node}{path_text}: {result.message}"
        suggestion = explained[at].get("suggestion") if at < len(explained) else None
        if suggestion:
            details += f" (fix: {suggestion})"
        severity = f"[{colour}]{result.severity}[/]"
        out.print(
            f"{escape(printable(where))}{severity} {escape(printable(details))}", highlight=False
        )
    verdict = "conforms" if report.conforms else "does not conform"
    out.print(
        f"{_count(len(report.violations), 'violation')}, {_count(len(report.warnings), 'warning')}"
        f": the graph {verdict} with these files merged in.",
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

    Each result names the file and line, the shape, the node, what is wrong and, where the graph
    knows better, the fix. Exit status: 0 the result conforms, 1 SHACL violations, 2 unreadable
    input or no store. Usable as a pre-commit hook or CI step of a data repository.
    """
    if output_format not in ("text", "json", "turtle", "ttl", "jsonld", "json-ld"):
        raise _fail(f"unknown report format {output_format!r}: use text, json or turtle", 2)
    try:
        delta = _read_files(files, input_format, graph, show_progress=output_format == "text")
    except (RdfSyntaxError, UnsupportedFormat, OSError) as exc:
        raise _fail(str(exc), 2) from None
    if against is not None:
        report, explained = _validate_remotely(against, delta)
    else:
        settings = _store(data_dir, "validate")

        async def check(graph: KnowledgeGraph) -> tuple[ValidationReport, list[dict[str, Any]]]:
            report = await graph.curation.check(delta)
            return report, await graph.curation.explain(report)

        try:
            report, explained = _with_graph(settings, check)
        except StoreLocked as exc:
            raise _fail(f"{exc} (ijkg validate --against URL asks the service)", 2) from None
        except StoreError as exc:
            raise _fail(str(exc), 2) from None
    _print_report(report, files, output_format, explained)
    raise typer.Exit(0 if report.conforms else 1)


def _validate_remotely(url: str, delta: Delta) -> tuple[ValidationReport, list[dict[str, Any]]]:
    """Ask a running service (``POST /validate``) to judge ``delta`` against its current graph:
    its report, and its results as it explains them."""
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
    data = answer.json()
    return report_from_json(data), list(data["results"])


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
    """Add FILES to the store, through the same SHACL gate as every other write.

    Triples outside a named graph go to the file's own graph,
    https://w3id.org/ijkg/graph/<file-name>, unless --graph names one (writes over HTTP without
    a graph go to https://w3id.org/ijkg/graph/curated instead). If the graph would not conform
    afterwards, nothing is written and the report says why (exit 1). The service must be
    stopped: while it runs, send the files to it (POST /changes or the Graph Store Protocol).
    """
    try:
        delta = _read_files(files, input_format, graph, show_progress=True)
    except (RdfSyntaxError, UnsupportedFormat, OSError) as exc:
        raise _fail(str(exc), 2) from None
    settings = _store(data_dir, "load")
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
    added = set(loaded.change.adds)
    graphs = sorted({str(q.graph_name) for q in delta.adds})
    into = ", ".join(graphs[:3]) + (
        f" and {len(graphs) - 3:,} more graphs" if len(graphs) > 3 else ""
    )
    out.print(
        f"loaded {_count(len(added), 'triple')} into {into} from "
        f"{_count(len(files), 'file')} as change {loaded.change.slug}; the graph is now at "
        f"version {loaded.version} ({_count(loaded.warnings, 'warning')})",
        highlight=False,
        markup=False,
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
    """Run a SPARQL query on the store and print the answer.

    The default graph is the union of all named graphs. The table is for people; scripts take
    --format json, csv or tsv (SELECT, ASK) or an RDF syntax (CONSTRUCT, DESCRIBE).
    """
    if file is not None:
        sparql = file.read_text(encoding="utf-8")
    elif text == "-" or text is None:
        sparql = sys.stdin.read()
    else:
        sparql = text
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
        raise _fail(
            f"unknown output format {output_format!r}: use table, a results format (json, xml, "
            "csv, tsv) or an RDF syntax (turtle, ntriples, jsonld, rdfxml, trig, nquads)",
            2,
        )
    settings = _store(data_dir, "query")
    try:
        answer = _with_graph(
            settings, lambda graph: graph.sparql.query(sparql, results=results, rdf=rdf)
        )
    except StoreError as exc:
        raise _fail(str(exc), 2) from None
    except (QueryError, UnsupportedFormat) as exc:
        message = str(exc)
        if (
            isinstance(exc, QuerySyntaxError)
            and exc.line is not None
            and f"line {exc.line}" not in message
        ):
            message = f"line {exc.line}, column {exc.column}: {message}"
        raise _fail(message, 1) from None
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
    if out.is_terminal:
        out.print(table)
    else:
        # Off a terminal, the table is as wide as its widest row: no cell is wrapped.
        wide = out.options.update(max_width=1 << 20)
        width = max(out.width, Measurement.get(out, wide, table).maximum)
        Console(width=width, highlight=False, color_system=None).print(table)
    out.print(_count(len(rows), "row"), highlight=False)


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
    graph: Annotated[
        list[str] | None, typer.Option("--graph", "-g", help="Only these named graphs.")
    ] = None,
    at_version: Annotated[
        int | None,
        typer.Option(
            "--version",
            min=0,
            help="The whole graph at this version instead, as the service's dump "
            "(GET /version/N/dump): canonical N-Quads, lines sorted; gzipped when --output "
            "ends in .gz, the very bytes the service serves.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write every named graph (or the ones given) as N-Quads: a complete backup.

    The backup holds the data, the ontology, the shapes and the history of changes; `ijkg
    restore` reads it back. With --version N: the graph as it was at version N, as a dump with a
    stable byte order and its SHA-256, the same whichever store holds the graph.
    """
    if at_version is not None:
        if graph:
            raise _fail("--version writes the whole graph: leave out --graph", 2)
        _export_version(at_version, output, data_dir)
        return
    settings = _store(data_dir, "export")
    try:
        data = _with_graph(settings, lambda knowledge: knowledge.export(graph))
    except StoreError as exc:
        raise _fail(str(exc), 2) from None
    except IjkgError as exc:
        raise _fail(str(exc), 1) from None
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
        quads = data.count(b"\n")
        err.print(f"wrote {_count(quads, 'quad')} to {output}", highlight=False, markup=False)


def _export_version(at_version: int, output: Path | None, data_dir: Path | None) -> None:
    settings = _store(data_dir, "export")
    try:
        made = _with_graph(
            settings,
            lambda knowledge: knowledge.feed.dump(at_version, operator=True),
            load_bundle=False,
        )
    except StoreError as exc:
        raise _fail(str(exc), 2) from None
    except IjkgError as exc:
        raise _fail(str(exc), 1) from None
    gzipped = output is not None and output.suffix == ".gz"
    data = made.gzipped if gzipped else gzip.decompress(made.gzipped)
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)
    where = "stdout" if output is None else str(output)
    err.print(
        f"wrote {_count(made.quads, 'quad')} of version {made.version} to {where}; SHA-256 of "
        f"the N-Quads {made.nquads_sha256}, of the gzip file {made.gzip_sha256}",
        highlight=False,
        markup=False,
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="An N-Quads backup written by ijkg export.")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option(help="Restore even if the restored data would not conform.")
    ] = False,
) -> None:
    """Replace everything in the store with a backup, in one atomic commit.

    The backup is validated like any write. A data directory without a store gets a new one.
    Stop `ijkg serve` first: one process owns a store.
    """
    try:
        quads = read_rdf_file(file, syntax=rdf_syntax_for_name("nquads"))
    except (RdfSyntaxError, UnsupportedFormat, OSError) as exc:
        raise _fail(str(exc), 2) from None
    settings = _store(data_dir, "restore", make=True)
    new = settings.store == "embedded" and not holds_store(settings.data_dir)
    try:
        # A restore brings its own bundle: the package's is loaded after it, if newer.
        commit = _with_graph(
            settings, lambda graph: graph.restore(quads, force=force), load_bundle=False
        )
    except ValidationFailed as exc:
        _print_report(exc.report, [file], "text")
        raise _fail("nothing was restored (use --force to restore anyway)", 1) from None
    except (IjkgError, ValueError) as exc:
        raise _fail(str(exc), 2) from None
    if new:
        done = f"restored {_count(len(quads), 'quad')} into a new store"
    elif commit.removed == commit.added == 0:
        done = f"restored {_count(len(quads), 'quad')}: the store already held exactly these"
    else:
        done = (
            f"restored {_count(len(quads), 'quad')} ({commit.removed:,} removed, "
            f"{commit.added:,} added)"
        )
    out.print(
        f"{done}; the store is at version {commit.version_after}", highlight=False, markup=False
    )


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Make a new store, with the bundled graph, in the data directory.

    A directory that already holds a store is left as it is. Other commands (load, query,
    validate, export) use an existing store only, so that a mistyped or forgotten data directory
    is noticed rather than silently given a store of its own.
    """
    settings = _store(data_dir, "init", make=True)
    directory = settings.data_dir.absolute()
    existed = settings.store == "embedded" and holds_store(settings.data_dir)
    if settings.store == "embedded":
        try:
            preflight(settings.data_dir, check_files=existed)
        except StoreError as exc:
            raise _fail(str(exc), 2) from None

    async def version(graph: KnowledgeGraph) -> int:
        return await graph.version()

    try:
        at = _with_graph(settings, version, load_bundle=not existed)
    except StoreError as exc:
        raise _fail(str(exc), 2) from None
    if existed:
        done = f"there is a store in {directory} already (version {at}); nothing changed"
    elif settings.store == "embedded":
        done = f"made a new store in {directory} with the bundled graph (version {at})"
    else:
        done = f"the {settings.store} store holds the bundled graph (version {at})"
    out.print(done, highlight=False, markup=False)


@app.command()
def repair(
    data_dir: DataDir = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Do it (without it: say what would be done, change nothing)."),
    ] = False,
) -> None:
    """Rebuild a damaged embedded store from its last good snapshot and every readable record.

    For a store that refuses to start because its files are damaged. The damaged files are moved
    into damaged-<time>/ in the store's directory, never deleted. Stop `ijkg serve` first.
    """
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


@app.command()
def mirror(
    directory: Annotated[Path, typer.Argument(help="The mirror's store directory.")],
    source: Annotated[
        str, typer.Option("--from", help="The service to mirror, e.g. http://127.0.0.1:8000.")
    ],
    once: Annotated[
        bool, typer.Option("--once", help="Catch up with the source, then exit.")
    ] = False,
) -> None:
    """Keep a local store in DIRECTORY in step with a running service, from its feed.

    A new mirror starts at the oldest version the source keeps (from its dump, or from version
    0), then applies each version's patch in order, under the source's version numbers; then it
    follows the source's live stream of changes until stopped (Ctrl-C), reconnecting when the
    source restarts. Nothing else may write to a mirror: one that moved stops with an error.
    Query it with `ijkg query --data-dir DIRECTORY` (or serve it) while the mirror is stopped.
    """
    settings = _settings(directory, store="embedded")
    if holds_store(directory):
        try:
            preflight(directory)
        except StoreError as exc:
            raise _fail(str(exc), 2) from None
    err.print(f"ijkg mirror: {source} into {directory.absolute()}", highlight=False, markup=False)
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        "versions",
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("catching up", total=None)

        def progress(step: MirrorStep) -> None:
            if step.live:
                bar.stop()
                err.print(f"mirrored version {step.version}", highlight=False, markup=False)
            else:
                bar.update(task, completed=step.version, total=step.head)

        def following(version: int) -> None:
            bar.stop()
            err.print(
                f"at version {version}; following {source} (Ctrl-C stops)",
                highlight=False,
                markup=False,
            )

        async def run() -> int:
            main = asyncio.current_task()
            if main is not None:  # SIGTERM stops it as Ctrl-C does, the store closed cleanly
                asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main.cancel)
            job = Mirror(
                source,
                settings,
                progress=progress,
                following=following,
                notice=lambda text: err.print(text, highlight=False, markup=False),
            )
            return await job.run(once=once)

        try:
            version = asyncio.run(run())
        except (KeyboardInterrupt, asyncio.CancelledError):
            err.print("ijkg mirror: stopped", highlight=False, markup=False)
            return
        except MirrorFailed as exc:
            raise _fail(str(exc), 1) from None
        except StoreError as exc:
            raise _fail(str(exc), 2) from None
    out.print(
        f"the mirror in {directory} is at version {version}, as {source} is",
        highlight=False,
        markup=False,
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
        raise _fail(
            f"cannot reach the service at {url} ({exc}): is it running? --url or IJKG_URL names "
            "another",
            2,
        ) from None
    if answer.status_code == 401:
        raise _fail(
            f"{url} needs a write token for this (401): pass --token TOKEN or set IJKG_TOKEN"
            if not token
            else f"{url} does not know the token given by --token or IJKG_TOKEN (401)",
            1,
        )
    if answer.status_code >= 400:
        problem: dict[str, Any] = {}
        try:
            problem = answer.json()
            message = f"{problem.get('title')}: {problem.get('detail')}"
        except ValueError:
            message = answer.text[:500]
        if answer.status_code == 422:
            sys.stdout.write(json.dumps(problem.get("report", {}), indent=2) + "\n")
        raise _fail(f"{url} refused it ({answer.status_code} {message})", 1)
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


ChangesFormat = Annotated[
    str, typer.Option("--format", "-f", help="text (default), or json: the service's answer.")
]


def _as_json(fmt: str, data: Any) -> bool:
    """Print ``data`` as JSON if ``fmt`` asks for it (and say whether it did)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return True
    if fmt != "text":
        raise _fail(f"unknown output format {fmt!r}: use text or json", 2)
    return False


@changes_app.command("list")
def changes_list(
    url: ServiceUrl = "http://127.0.0.1:8000",
    status: Annotated[str | None, typer.Option(help="proposed, merged or rejected")] = None,
    touching: Annotated[str | None, typer.Option(help="Only changes that touched this IRI")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first")] = 50,
    output_format: ChangesFormat = "text",
) -> None:
    """List changes, newest first."""
    changes = _call("GET", url, "/changes", status=status, touching=touching, limit=limit)
    if _as_json(output_format, changes):
        return
    for change in changes:
        _say(_change_line(change))


@changes_app.command("show")
def changes_show(
    change_id: str, url: ServiceUrl = "http://127.0.0.1:8000", output_format: ChangesFormat = "text"
) -> None:
    """Show a change: its status, history, diff and (if proposed) its report as of now."""
    change = _call("GET", url, f"/changes/{change_id}")
    if _as_json(output_format, change):
        return
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


def _help(doc: str | None) -> str:
    """A docstring as help text: each paragraph one line (the terminal wraps it where it ends,
    not where the source did), and no reStructuredText quoting."""
    paragraphs = inspect.cleandoc(doc or "").split("\n\n")
    text = "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
    return re.sub(r"``([^`]+)``", r"\1", text)


def _tidy_help(typer_app: typer.Typer) -> None:
    if typer_app.registered_callback is not None:
        callback = typer_app.registered_callback
        callback.help = _help(callback.callback.__doc__ if callback.callback else None)
    for command in typer_app.registered_commands:
        if command.callback is not None:
            command.help = _help(command.callback.__doc__)
            command.short_help = command.help.split("\n\n")[0]
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _tidy_help(group.typer_instance)


_tidy_help(app)


def main() -> None:
    """Entry point of the ``ijkg`` console script."""
    app()


__all__ = ["app", "main"]

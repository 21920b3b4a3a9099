"""Bounded load generators: ``wrk`` (Debian's package) when it is installed, else a small asyncio
client. Both send a fixed rotation of requests over keep-alive connections for a fixed duration
(and never more than ``max_requests``), and report requests per second, the p50 and p99 latency
and the count of failed requests (non-2xx, timeouts, socket errors).

wrk is preferred: it is written in C and costs the machine far less than the servers it
measures; the asyncio client is there so the harness runs (e.g. in the smoke test) where wrk is
not installed, and its numbers are marked as such.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx


@dataclass(frozen=True)
class Request:
    path: str
    accept: str = "*/*"


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    generator: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


_LUA = """
local requests = %s
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("offset", thread_id * 7)
  thread_id = thread_id + 1
  table.insert(threads, thread)
end

function init(args)
  counter = offset or 0
end

function request()
  counter = counter + 1
  local r = requests[(counter %% #requests) + 1]
  return wrk.format("GET", r[1], {["Accept"] = r[2]})
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run(
    base: str,
    requests: Sequence[Request],
    *,
    concurrency: int,
    duration_s: float,
    timeout_s: float = 30.0,
    max_requests: int = 1_000_000,
    use_wrk: bool | None = None,
) -> Result:
    """Load ``base`` with ``requests`` in rotation at ``concurrency`` for ``duration_s``."""
    if use_wrk is None:
        use_wrk = have_wrk()
    if use_wrk:
        return _run_wrk(base, requests, concurrency, duration_s, timeout_s)
    return asyncio.run(_run_async(base, requests, concurrency, duration_s, timeout_s, max_requests))


def _run_wrk(
    base: str, requests: Sequence[Request], concurrency: int, duration_s: float, timeout_s: float
) -> Result:
    table = "{" + ",".join(f"{{{_lua_string(r.path)},{_lua_string(r.accept)}}}" for r in requests)
    table += "}"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % table)
    try:
        wrk = shutil.which("wrk") or "wrk"
        out = subprocess.run(
            [
                wrk,
                "-t1",
                f"-c{concurrency}",
                f"-d{max(1, round(duration_s))}s",
                f"--timeout={max(1, round(timeout_s))}s",
                "-s",
                script.name,
                base,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=duration_s + timeout_s + 60,
        )
    finally:
        Path(script.name).unlink()
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    errors = sum(summary[k] for k in ("connect", "read", "write", "status", "timeout"))
    seconds = summary["duration_us"] / 1e6
    return Result(
        requests=summary["requests"],
        errors=errors,
        seconds=round(seconds, 3),
        rps=round((summary["requests"] - errors) / seconds, 2) if seconds else 0.0,
        p50_ms=round(summary["p50_us"] / 1000, 3),
        p99_ms=round(summary["p99_us"] / 1000, 3),
        generator="wrk",
    )


async def _run_async(
    base: str,
    requests: Sequence[Request],
    concurrency: int,
    duration_s: float,
    timeout_s: float,
    max_requests: int,
) -> Result:
    latencies: list[float] = []
    errors = 0
    sent = 0
    started = time.perf_counter()
    deadline = started + duration_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client(n: int, http: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        i = n * 7
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            request = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            try:
                answer = await http.get(request.path, headers={"Accept": request.accept})
                await answer.aread()
                if answer.status_code >= 400:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append(time.perf_counter() - t0)

    async with httpx.AsyncClient(base_url=base, timeout=timeout_s, limits=limits) as http:
        await asyncio.gather(*(client(n, http) for n in range(concurrency)))
    seconds = time.perf_counter() - started
    latencies.sort()
    done = len(latencies)

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return round(latencies[min(done - 1, int(p * done))] * 1000, 3)

    return Result(
        requests=done,
        errors=errors,
        seconds=round(seconds, 3),
        rps=round((done - errors) / seconds, 2) if seconds else 0.0,
        p50_ms=pct(0.50) if done else 0.0,
        p99_ms=pct(0.99) if done else 0.0,
        generator="asyncio-httpx",
    )


def single(base: str, request: Request, *, timeout_s: float) -> tuple[int, float, bytes]:
    """One request: status, seconds, body (for checks before a system is loaded with many)."""
    t0 = time.perf_counter()
    answer = httpx.get(base + request.path, headers={"Accept": request.accept}, timeout=timeout_s)
    return answer.status_code, time.perf_counter() - t0, answer.content


def median_result(results: Sequence[Result]) -> Result:
    """The round with the median throughput (its latencies come with it, so they belong
    together)."""
    ordered = sorted(results, key=lambda r: r.rps)
    return ordered[len(ordered) // 2]

"""The framework's ceiling: one hello-world FastAPI route, served the way ``ijkg serve`` serves
(uvicorn's defaults pick the same loop and HTTP parser, uvloop and httptools, and it runs as many
processes as ``ijkg serve`` does by default: one per core)."""

from __future__ import annotations

import argparse
import os

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.hello:app",
        host=args.host,
        port=args.port,
        log_level="info",
        loop="auto",
        http="auto",
        workers=args.workers,
    )


if __name__ == "__main__":
    main()

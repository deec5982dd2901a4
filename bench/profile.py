"""Where a request's time goes: py-spy samples a running server under ``wrk``.

``profile_server(pid, seconds, load)`` records the server process at 200 samples a second
(``--nonblocking``: the server is never paused; ``--gil``: only samples that hold the GIL,
i.e. Python's CPU time, not the waits in the event loop) while ``load()`` runs ``wrk``
against it, then attributes every sample to the component of its innermost frame (the
file it is in): the vendored tenancy, observability and auth modules by module, and the
libraries by name. ``measure.py`` runs it on the rls service with every default on and
on the bare-filtered baseline; the report prints both tables.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: (pattern on the frame's file, component): first match wins.
COMPONENTS: list[tuple[str, str]] = [
    (r"bench_\w+/tenancy/", "tenancy: {module}"),
    (r"bench_\w+/observability/", "observability: {module}"),
    (r"bench_\w+/auth/", "auth: {module}"),
    (r"bench_\w+/", "service: {module}"),
    (r"bench/apps/", "benchmark app"),
    (r"sqlalchemy/orm/", "SQLAlchemy ORM"),
    (r"sqlalchemy/", "SQLAlchemy Core, engine, pool"),
    (r"asyncpg/", "asyncpg"),
    (r"pydantic", "pydantic (validation, serialization)"),
    (r"fastapi/", "FastAPI (routing, dependencies, responses)"),
    (r"starlette/", "Starlette (routing, middleware, responses)"),
    (r"uvicorn/|httptools|h11/", "uvicorn (HTTP)"),
    (r"asyncio/|selectors\.py|uvloop", "asyncio event loop"),
    (r"redis/", "redis client"),
    (r"structlog/|logging/", "logging (structlog, logging)"),
    (r"prometheus_client/", "prometheus-client"),
    (r"jwt/", "PyJWT"),
    (r"opentelemetry/", "OpenTelemetry"),
]
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*):\d+\)$")


def component_of(frame: str) -> str:
    match = _FRAME.match(frame)
    file = match["file"] if match else frame
    for pattern, name in COMPONENTS:
        found = re.search(pattern, file)
        if found:
            module = file[found.end() :].removesuffix(".py") or file
            return name.format(module=module.replace("/", "."))
    return "other (stdlib, builtins)"


def attribute(raw: str) -> dict[str, Any]:
    """py-spy's raw output (``frame;frame;... count`` per line) -> samples per component
    and per innermost function."""
    components: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        leaf = frames[-1]
        components[component_of(leaf)] += int(count)
        functions[leaf] += int(count)
        total += int(count)
    return {
        "samples": total,
        "components": dict(components.most_common()),
        "functions": dict(functions.most_common(15)),
    }


def profile_server(
    pid: int, seconds: int, load: Callable[[], Any], *, native: bool = False
) -> dict[str, Any]:
    """Record ``pid`` for ``seconds`` while ``load()`` runs (it should last that long);
    ``native``: C and Cython frames too (where a library's compiled code spends it)."""
    spy = Path(sys.executable).parent / "py-spy"
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "raw.txt"
        recorder = subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(pid),
                "--rate",
                "200",
                "--duration",
                str(seconds),
                "--format",
                "raw",
                "--gil",
                "--output",
                str(out),
                *(["--native"] if native else ["--nonblocking"]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        result = load()
        recorder.wait(seconds + 60)
        if recorder.returncode != 0 or not out.exists():
            raise RuntimeError(f"py-spy failed ({recorder.returncode})")
        raw = out.read_text()
        profile = attribute(raw)
        if native:
            profile["raw"] = raw
    profile["load"] = result
    return profile

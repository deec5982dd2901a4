"""Run ``wrk`` against one URL, naming tenants from a file, and read its report."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: One tenant per request, from BENCH_TENANTS (one identifier per line): at random, or in
#: order with BENCH_ORDERED=1 (a warm-up pass that visits every tenant). BENCH_AUTHORIZATION,
#: when set, is every request's Authorization header (a member's bearer token).
SCRIPT = """
local ids = {}
for line in io.lines(os.getenv("BENCH_TENANTS")) do ids[#ids + 1] = line end
local ordered = os.getenv("BENCH_ORDERED") == "1"
local authorization = os.getenv("BENCH_AUTHORIZATION") or ""
local i = 0
request = function()
  i = i + 1
  local id = ordered and ids[(i - 1) % #ids + 1] or ids[math.random(#ids)]
  local headers = {["X-Tenant-ID"] = id}
  if authorization ~= "" then headers["Authorization"] = authorization end
  return wrk.format(nil, nil, headers)
end
"""


@dataclass(frozen=True)
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value)
    if match is None:
        raise ValueError(f"unexpected wrk latency {value!r}")
    number, unit = match.groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _field(pattern: str, out: str) -> str:
    match = re.search(pattern, out, re.MULTILINE)
    if match is None:
        raise ValueError(f"no {pattern!r} in wrk's report:\n{out}")
    return match.group(1)


def parse(out: str) -> WrkResult:
    """Throughput and latency percentiles from ``wrk --latency``; any error is fatal."""
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    return WrkResult(
        rps=float(_field(r"^Requests/sec:\s+([\d.]+)", out)),
        p50_ms=_ms(_field(r"^\s+50%\s+(\S+)\s*$", out)),
        p99_ms=_ms(_field(r"^\s+99%\s+(\S+)\s*$", out)),
    )


def run_wrk(
    url: str,
    tenants_file: Path,
    seconds: float,
    *,
    connections: int,
    script: Path,
    prefix: list[str],
    ordered: bool = False,
    authorization: str = "",
) -> WrkResult:
    script.write_text(SCRIPT)
    env = {
        **os.environ,
        "BENCH_TENANTS": str(tenants_file),
        "BENCH_ORDERED": "1" if ordered else "0",
        "BENCH_AUTHORIZATION": authorization,
    }
    command = [
        *prefix,
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    return parse(out)

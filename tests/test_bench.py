"""The benchmark's own pieces: wrk's report is read right, the report is written, the code is
clean. (The benchmark itself is `make bench`; no timing is asserted in tests.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.profile import attribute
from bench.report import write_report
from bench.wrk import parse

ROOT = Path(__file__).resolve().parent.parent

WRK_REPORT = """Running 5s test @ http://127.0.0.1:8000/api/notes?limit=20
  1 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    11.98ms    5.12ms  75.50ms   90.50%
    Req/Sec   838.20     62.33     0.94k    76.00%
  Latency Distribution
     50%   10.70ms
     75%   12.43ms
     90%   15.10ms
     99%    1.20s
  4172 requests in 5.00s, 25.39MB read
Requests/sec:    834.12
Transfer/sec:      5.07MB
"""


def test_wrk_report_is_read_from_its_own_lines() -> None:
    # "90.50%" in the stats table must not be taken for the 50th percentile.
    result = parse(WRK_REPORT)
    assert (result.rps, result.p50_ms, result.p99_ms) == (834.12, 10.70, 1200.0)


def test_trailing_spaces_after_a_percentile_are_read() -> None:
    # wrk pads some latencies ("1.04s "): seen on a loaded machine.
    result = parse(WRK_REPORT.replace("     99%    1.20s\n", "     99%    1.04s \n"))
    assert result.p99_ms == 1040.0


def test_failed_requests_stop_the_benchmark() -> None:
    with pytest.raises(RuntimeError, match="failed requests"):
        parse(WRK_REPORT.replace("Requests/sec", "  Non-2xx or 3xx responses: 3\nRequests/sec"))


def _results() -> dict[str, object]:
    def row(
        phase: str, variant: str, rps: float, baseline: str | None, p99: float = 30.0
    ) -> dict[str, object]:
        data: dict[str, object] = {
            "phase": phase,
            "variant": variant,
            "rps": [rps],
            "median_rps": rps,
            "p50_ms": 10.0,
            "p99_ms": p99,
            "baseline": baseline,
        }
        if baseline:
            data |= {"ratios": [rps / 1000], "ratio": rps / 1000}
        return data

    return {
        "machine": {
            "date": "2026-11-23",
            "cpus": "2",
            "cpu": "test",
            "python": "3.11",
            "postgresql": "18",
            "fastapi": "x",
            "sqlalchemy": "x",
            "asyncpg": "x",
            "wrk": "wrk 4",
        },
        "seconds": 600.0,
        "requests": [
            row("10 tenants", "bare", 1100, None),
            row("10 tenants", "bare-filtered", 1000, "bare"),
            row("10 tenants", "rls: tenancy", 990, "bare-filtered"),
            row("10 tenants", "rls: + rate limit", 900, "bare-filtered"),
            row("10 tenants", "rls: + logs, metrics", 880, "bare-filtered"),
            row("10 tenants", "rls: + auth (every default)", 800, "bare-filtered", p99=34.0),
            row("10 tenants", "schema: tenancy", 980, "bare-filtered"),
            row("10 tenants", "schema: + rate limit, logs, metrics", 900, "bare-filtered"),
            row("10 tenants", "anchor rls (tuned)", 500, "bare"),
            row("1000 tenants", "bare", 1100, None),
            row("1000 tenants", "bare-filtered", 1000, "bare"),
            row("1000 tenants", "rls: + logs, metrics", 960, "bare-filtered"),
            row("1000 tenants", "schema: + rate limit, logs, metrics", 950, "bare-filtered"),
            row("10000 tenants", "bare-filtered", 1000, "bare"),
            row("10000 tenants", "rls: + logs, metrics", 870, "bare-filtered"),
            row("10 tenants, auth", "rls, auth=none", 1000, None),
            row("10 tenants, auth", "rls, auth=builtin", 960, "rls, auth=none"),
        ],
        "resolution": {"resolve + cache hit": 1.5},
        "profiles": {
            "bare-filtered": {
                "load": 1000.0,
                "seconds": 20,
                "samples": 3000,
                "components": {"asyncpg": 2000, "FastAPI (routing, dependencies, responses)": 1000},
            },
            "rls: + auth (every default)": {
                "load": 800.0,
                "seconds": 20,
                "samples": 3200,
                "components": {"asyncpg": 1600, "tenancy: middleware": 1600},
            },
        },
        "provisioning_limit": {
            "rls": {"tenants": 50, "service_ms": 3.0, "raw_ms": 1.0, "ratio": 3.0},
            "schema": {"tenants": 50, "service_ms": 12.0, "raw_ms": 10.0, "ratio": 1.2},
        },
        "migrate_limit": {
            "tenants": 1000,
            "plain_loop_s": 10.0,
            "in_process_s": 14.0,
            "migrate_s": 16.0,
            "concurrency": 2,
        },
        "auth": {
            "login": {"n": 50, "median_ms": 61.0, "p90_ms": 70.0},
            "argon2": {
                "variant": "argon2id",
                "time_cost": 3,
                "memory_cost_kib": 65536,
                "parallelism": 4,
                "verify_ms": 55.0,
            },
            "middleware_us": {
                "whole middleware": 3.0,
                "whole middleware, with authentication": 9.0,
            },
        },
        "provisioning": {"rls": [4.0, 5.0, 6.0], "schema": [20.0, 40.0, 41.0]},
        "migrations": [
            {
                "mode": "schema",
                "tenants": 1000,
                "concurrency": 1,
                "seconds": 12.0,
                "per_tenant_ms": 12.0,
                "at_head": 1000,
            },
        ],
    }


def test_report_states_each_target_next_to_the_measurement(tmp_path: Path) -> None:
    write_report(_results(), tmp_path)
    report = (tmp_path / "report.md").read_text()
    every = "rls: + auth (every default)"
    assert (
        f"| 10 | {every} | 800 | 0.80x bare-filtered | 10.0 | 34.0 | >= 0.95x: **missed** |"
        in report
    )
    assert (
        "| 1000 | rls: + logs, metrics | 960 | 0.96x bare-filtered | 10.0 | 30.0 | >= 0.95x: met |"
        in report
    )
    # The defaults one step at a time: against bare-filtered, each step against the one before.
    assert "| rls: + rate limit | 900 | 0.90x | 0.91x | 30.0 | 1.00x: met |" in report
    assert f"| {every} | 800 | 0.80x | 0.91x | 34.0 | 1.13x: **missed** |" in report
    assert (
        f"| {every} >= 1.3x fastapi-tenancy 0.5.0 (rls, its best settings) | 1.60x | met |"
        in report
    )
    assert "| 0.88x / 0.96x / 0.87x: 9% apart | **missed** |" in report
    # The profile: microseconds of CPU per request by component (5,000 us a sample at 200 Hz).
    assert "| asyncpg | 500 | 500 |" in report
    assert "| tenancy: middleware | 0 | 500 |" in report
    assert "| total | **750** | **1000** |" in report
    # Hand-written limits.
    assert "| provisioning, rls (median of 50) | 3.0 ms | 1.0 ms | 3.00x | **missed** |" in report
    work = "| `migrate`'s work over 1000 schemas (`upgrade_all`, in process) | 14.00 s | 10.00 s |"
    assert f"{work} 1.40x | met |" in report
    command = "the `migrate` command, wall (2 processes; the interpreter's start and the"
    assert (
        f"| {command} service's imports included) | 16.0 s | 10.00 s | 1.60x | (start-up) |"
        in report
    )
    assert "| schema | 3 | 40.0 | 41.0 | <= 30 ms: **missed** |" in report
    assert "| schema | 1000 | 1 | 12.0 | 12.0 | 1000/1000 | <= 20 s: met |" in report
    # Authentication: within 3% of the same request without users; the login's Argon2 cost.
    auth = "| 10 | rls, auth=builtin | 960 | 0.96x rls, auth=none | 10.0 | 30.0 |"
    assert f"{auth} >= 0.97x: **missed** |" in report
    assert "| 61.0 | 70.0 | 55.0 |" in report
    assert "time_cost 3, memory_cost 65536 KiB, parallelism 4" in report
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("check", [["check"], ["format", "--check"]])
def test_bench_code_is_clean(check: list[str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "ruff", *check, "bench", "tests/test_bench.py"], cwd=ROOT, check=True
    )


def test_profile_samples_are_attributed_to_the_innermost_frame() -> None:
    raw = (
        "run (asyncio/runners.py:118);__call__ (bench_rls/tenancy/middleware.py:90) 7\n"
        "run (asyncio/runners.py:118);execute (asyncpg/connection.py:377) 3\n"
        "run (asyncio/runners.py:118);list_notes (bench_rls/api/notes.py:110) 2\n"
        "not a sample line\n"
    )
    profile = attribute(raw)
    assert profile["samples"] == 12
    assert profile["components"] == {
        "tenancy: middleware": 7,
        "asyncpg": 3,
        "service: api.notes": 2,
    }

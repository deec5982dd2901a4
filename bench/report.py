"""Turn ``results.json`` into ``report.md`` and ``report.png``.

Run on its own to redraw a report: ``python bench/report.py [bench/results]``.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

EVERY_DEFAULT = "rls: + auth (every default)"
RLS_DEFAULTS = "rls: + logs, metrics"
SCHEMA_DEFAULTS = "schema: + rate limit, logs, metrics"
#: The defaults' increments, in order (bench/measure.py ``default_steps``).
STEPS = {
    "rls": ["rls: tenancy", "rls: + rate limit", RLS_DEFAULTS, EVERY_DEFAULT],
    "schema": ["schema: tenancy", SCHEMA_DEFAULTS],
}
#: Issue 17: every default on, >= 0.95x bare-filtered at every scale, flat within 3%; the
#: middleware stack >= 0.97x bare; >= 1.3x fastapi-tenancy at its best settings; p99 within
#: bare-filtered's + 10%; provisioning and migrate within 1.5x their hand-written limits.
FLATNESS = 0.03
ANCHOR_TARGET = 1.3
P99_TARGET = 1.10
LIMIT_TARGET = 1.5
#: Targets: (phase, variant) -> minimum ratio to the baseline.
RATIO_TARGETS = {
    ("10 tenants", EVERY_DEFAULT): 0.95,
    ("10 tenants", RLS_DEFAULTS): 0.95,
    ("10 tenants", SCHEMA_DEFAULTS): 0.95,
    ("1000 tenants", RLS_DEFAULTS): 0.95,
    ("1000 tenants", SCHEMA_DEFAULTS): 0.95,
    ("10000 tenants", RLS_DEFAULTS): 0.95,
    ("10 tenants", "tenancy middleware only /ping"): 0.97,
    # Issue 13: authentication on a cached membership within 3% of the same request without.
    ("10 tenants, auth", "rls, auth=builtin"): 0.97,
    # Issue 15: JSON access lines and metrics cost <= 5%; tracing (in-memory export) <= 10%.
    ("10 tenants, observability", "rls, logging+metrics on"): 0.95,
    ("10 tenants, observability", "rls, logging+metrics+tracing on"): 0.90,
    ("10 tenants, observability", "rls, logging+metrics+tracing 10% sampled"): 0.90,
}
PROVISIONING_TARGETS_MS = {"rls": 10.0, "schema": 30.0}
MIGRATION_TARGET_S = {("schema", 1000): 20.0}
RESOLUTION_TARGET_US = 10.0
#: Issue 14: a trivial tenant job through the worker at >= 0.9x the same job without tenancy.
JOBS_TARGET = 0.90


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _requests_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| tenants | variant | req/s (median) | vs baseline (median of rounds) | p50 ms | p99 ms"
        " | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = f"{row['ratio']:.2f}x {row['baseline']}" if "ratio" in row else "baseline"
        target = RATIO_TARGETS.get((row["phase"], row["variant"]))
        verdict = f">= {target:.2f}x: {_verdict(row['ratio'] >= target)}" if target else ""
        lines.append(
            f"| {row['phase'].split()[0]} | {row['variant']} | {row['median_rps']:.0f} | {ratio} "
            f"| {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | {verdict} |"
        )
    return lines


def _rows(rows: list[dict[str, Any]], phase: str) -> dict[str, dict[str, Any]]:
    return {row["variant"]: row for row in rows if row["phase"] == phase}


def _per_round(row: dict[str, Any], other: dict[str, Any]) -> float:
    """The median over rounds of ``row``'s throughput over ``other``'s in the same round."""
    return statistics.median(a / b for a, b in zip(row["rps"], other["rps"], strict=True))


def _defaults_section(rows: list[dict[str, Any]]) -> list[str]:
    """Every default, one step at a time, against bare-filtered; the targets of issue 17."""
    first = _rows(rows, "10 tenants")
    if "bare-filtered" not in first:
        return []
    base = first["bare-filtered"]
    lines = [
        "## The defaults, one step at a time (10 tenants)",
        "",
        "Each step adds to the one before: tenancy alone (resolution, cached lookup, scoped "
        "session, the ORM filter), + the rate limit (one Redis call per request; the limit "
        "never reached), + logs and metrics (a JSON access line per request written to a file, "
        "request and tenancy metrics), + authentication (the service rendered with "
        "`auth=builtin`: a bearer token and a cached membership). `bare-filtered` is the "
        "baseline a user would otherwise write: the same table, rows and index, "
        "`WHERE tenant_id = :t` from a header dict.",
        "",
        "| step | req/s | vs bare-filtered | this step's increment | p99 ms | p99 vs "
        f"bare-filtered (target <= {P99_TARGET:.2f}x) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for steps in STEPS.values():
        previous = base
        for name in steps:
            row = first.get(name)
            if row is None:
                continue
            p99 = row["p99_ms"] / base["p99_ms"]
            lines.append(
                f"| {name} | {row['median_rps']:.0f} | {_per_round(row, base):.2f}x "
                f"| {_per_round(row, previous):.2f}x | {row['p99_ms']:.1f} "
                f"| {p99:.2f}x: {_verdict(p99 <= P99_TARGET)} |"
            )
            previous = row
    lines += ["", "| target | measured | |", "|---|---|---|"]
    for mode, anchor, ours in (
        ("rls", "anchor rls (tuned)", EVERY_DEFAULT),
        ("rls", "anchor rls (tuned)", "rls: tenancy"),
        ("schema", "anchor schema (tuned)", SCHEMA_DEFAULTS),
    ):
        if anchor in first and ours in first:
            ratio = _per_round(first[ours], first[anchor])
            lines.append(
                f"| {ours} >= {ANCHOR_TARGET}x fastapi-tenancy 0.5.0 ({mode}, its best settings) "
                f"| {ratio:.2f}x | {_verdict(ratio >= ANCHOR_TARGET)} |"
            )
    curve = [r["ratio"] for r in rows if r["variant"] == RLS_DEFAULTS and "ratio" in r]
    if len(curve) > 1:
        spread = max(curve) - min(curve)
        lines.append(
            f"| {RLS_DEFAULTS}: flat from 10 to 10,000 tenants (<= {FLATNESS:.0%} apart) "
            f"| {' / '.join(f'{c:.2f}x' for c in curve)}: {spread:.0%} apart "
            f"| {_verdict(spread <= FLATNESS)} |"
        )
    return lines


def _limits_section(results: dict[str, Any]) -> list[str]:
    """Provisioning and ``migrate`` against what hand-written SQL takes in the same run."""
    lines = [
        "## Provisioning and migrations against hand-written limits",
        "",
        "In-process `create_tenant` (what the admin API and the CLI call) against the raw SQL "
        "of one tenant in one transaction on an open connection (rls: the tenant's `INSERT`; "
        "schema: `CREATE SCHEMA`, the tables and indexes, the version table, the grants), "
        "alternating; and `migrate` over every schema against a plain loop applying the same "
        "revision's SQL schema by schema over one connection (`bench/provision.py`).",
        "",
        f"| what | ours | hand-written | ratio | target <= {LIMIT_TARGET}x |",
        "|---|---:|---:|---:|---|",
    ]
    for mode, row in results.get("provisioning_limit", {}).items():
        lines.append(
            f"| provisioning, {mode} (median of {row['tenants']}) | {row['service_ms']:.1f} ms "
            f"| {row['raw_ms']:.1f} ms | {row['ratio']:.2f}x "
            f"| {_verdict(row['ratio'] <= LIMIT_TARGET)} |"
        )
    loop = results.get("migrate_limit")
    if loop and "in_process_s" in loop:
        ratio = loop["in_process_s"] / loop["plain_loop_s"]
        lines.append(
            f"| `migrate`'s work over {loop['tenants']} schemas (`upgrade_all`, in process) "
            f"| {loop['in_process_s']:.2f} s | {loop['plain_loop_s']:.2f} s | {ratio:.2f}x "
            f"| {_verdict(ratio <= LIMIT_TARGET)} |"
        )
    if loop:
        ratio = loop["migrate_s"] / loop["plain_loop_s"]
        lines.append(
            f"| the `migrate` command, wall ({loop['concurrency']} processes; the interpreter's "
            f"start and the service's imports included) "
            f"| {loop['migrate_s']:.1f} s | {loop['plain_loop_s']:.2f} s | {ratio:.2f}x "
            "| (start-up) |"
        )
    return lines


def _profile_section(profiles: dict[str, dict[str, Any]]) -> list[str]:
    """CPU per request by component, from py-spy's samples (bench/profile.py)."""
    names = list(profiles)
    per_request: dict[str, dict[str, float]] = {}
    for name, profile in profiles.items():
        requests = profile["load"] * profile["seconds"]
        per_request[name] = {
            component: samples * (1e6 / 200) / requests
            for component, samples in profile["components"].items()
        }
    components = sorted(
        {c for shares in per_request.values() for c in shares},
        key=lambda c: -max(shares.get(c, 0.0) for shares in per_request.values()),
    )
    lines = [
        "## Where the time goes (py-spy on the running server)",
        "",
        "py-spy samples each server at 200 Hz for "
        f"{profiles[names[0]]['seconds']} s under wrk (only samples holding the GIL: Python's "
        "CPU time, not waits), each sample attributed to the component of its innermost "
        "frame; microseconds of CPU per request. Libraries' compiled code counts under the "
        "frame that called it (asyncpg's protocol under `asyncpg`).",
        "",
        "| component | " + " | ".join(f"{n} (us/request)" for n in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for component in components:
        if max(per_request[n].get(component, 0.0) for n in names) < 2:
            continue
        cells = " | ".join(f"{per_request[n].get(component, 0.0):.0f}" for n in names)
        lines.append(f"| {component} | {cells} |")
    totals = " | ".join(f"**{sum(per_request[n].values()):.0f}**" for n in names)
    lines.append(f"| total | {totals} |")
    return lines


def _auth_section(auth: dict[str, Any]) -> list[str]:
    login, argon2 = auth["login"], auth["argon2"]
    lines = [
        "## Authentication (`auth=builtin`)",
        "",
        "Per request, on a cached membership: the `10 tenants, auth` rows above (the rls "
        "service rendered with `auth=builtin`, every request with the tenant owner's bearer "
        "token, against the same service rendered with `auth=none`). In-process, the whole "
        "tenancy middleware on a cache hit:",
        "",
        "| what | us per request |",
        "|---|---:|",
    ]
    for name, value in auth["middleware_us"].items():
        lines.append(f"| {name} | {value:.2f} |")
    lines += [
        "",
        f"Login: `POST /auth/login`, {login['n']} one at a time, the server otherwise idle "
        f"(one uvicorn worker on one CPU). Passwords are hashed with {argon2['variant']} "
        f"(pwdlib's `Argon2Hasher()`, argon2-cffi's defaults): time_cost "
        f"{argon2['time_cost']}, memory_cost {argon2['memory_cost_kib']} KiB, parallelism "
        f"{argon2['parallelism']}.",
        "",
        "| login median ms | login p90 ms | one Argon2 verification alone, ms |",
        "|---:|---:|---:|",
        f"| {login['median_ms']:.1f} | {login['p90_ms']:.1f} | {argon2['verify_ms']:.1f} |",
    ]
    return lines


def _jobs_section(jobs: dict[str, Any]) -> list[str]:
    return [
        "## Background jobs (`jobs=procrastinate`)",
        "",
        f"{jobs['jobs']} jobs queued, then run by one in-process worker ({jobs['concurrency']} "
        "at once), per round; the tenant job finds its tenant (cached), enters its scope and "
        "runs `SELECT 1` in a tenant session, the plain job runs it in a plain session. Median "
        f"of {len(jobs['rounds'])} rounds.",
        "",
        "| plain jobs/s | tenant jobs/s | ratio | target |",
        "|---:|---:|---:|---|",
        f"| {jobs['plain_per_s']:.0f} | {jobs['tenant_per_s']:.0f} | {jobs['ratio']:.2f}x | "
        f">= {JOBS_TARGET:.2f}x: {_verdict(jobs['ratio'] >= JOBS_TARGET)} |",
        "",
        f"Queuing on the request path: `defer` in a tenant transaction takes "
        f"{jobs['defer_us']:.0f} us (one round trip: a `SELECT 1` in the same transaction "
        f"takes {jobs['select_us']:.0f} us).",
    ]


def _lifecycle_section(lifecycle: dict[str, Any]) -> list[str]:
    moves, archives = lifecycle["moves"], lifecycle["archives"]
    lines = [
        "## Tenant lifecycle (in-process, one run each)",
        "",
        f"A tenant of {moves['rows']:,} notes moved by `tenants move` (hybrid: drain, copy, "
        "verify counts and checksums, switch, drop, one transaction): "
        f"rls -> schema {moves['to_schema_s']:.2f} s, schema -> rls {moves['to_rls_s']:.2f} s. "
        "The fence every hybrid tenant transaction passes costs "
        f"{moves['fence']['overhead_us']:.0f} us (median difference, per transaction).",
        "",
        "| isolation | rows | export rows/s | import rows/s | purge + erasure report s | "
        "erased | archive MB |",
        "|---|---:|---:|---:|---:|---|---:|",
    ]
    for mode, a in archives.items():
        lines.append(
            f"| {mode} | {a['rows']:,} | {a['export_rows_per_second']:,.0f} | "
            f"{a['import_rows_per_second']:,.0f} | {a['purge_report_seconds']:.2f} | "
            f"{'yes' if a['erased'] else '**no**'} | {a['archive_bytes'] / 1e6:.1f} |"
        )
    return lines


def write_report(results: dict[str, Any], out: Path) -> None:
    machine = results["machine"]
    lines = [
        "# Benchmark report",
        "",
        f"Measured {machine['date']} by `make bench` in {results['seconds'] / 60:.1f} min on "
        f"{machine['cpus']} CPUs ({machine['cpu']}); Python {machine['python']}, PostgreSQL "
        f"{machine['postgresql']} (embedded), FastAPI {machine['fastapi']}, SQLAlchemy "
        f"{machine['sqlalchemy']}, asyncpg {machine['asyncpg']}, {machine['wrk']}.",
        "",
        "Each server: one uvicorn worker pinned to CPU 0; wrk (1 thread, 10 connections) pinned "
        "to CPU 1. Rounds are interleaved in a shuffled order; each ratio is a variant's "
        "throughput over the baseline's in the same round, and the table gives the median of "
        "those ratios. `GET /api/notes?limit=20` returns 20 rows of the tenant named in "
        "`X-Tenant-ID` (a random tenant per request); `/api/ping` goes through the tenancy "
        "middleware and touches no database. The tenant cache is warm.",
        "",
        "![throughput ratios and scale curve](report.png)",
        "",
        "## Requests",
        "",
        *_requests_table(results["requests"]),
        "",
        *_defaults_section(results["requests"]),
        "",
        "## Resolution on a cache hit (in-process)",
        "",
        "| what | us per request | target |",
        "|---|---:|---|",
    ]
    for name, value in results["resolution"].items():
        lines.append(
            f"| {name} | {value:.2f} | <= {RESOLUTION_TARGET_US:.0f} us: "
            f"{_verdict(value <= RESOLUTION_TARGET_US)} |"
        )
    if "profiles" in results:
        lines += ["", *_profile_section(results["profiles"])]
    if "provisioning_limit" in results:
        lines += ["", *_limits_section(results)]
    if "auth" in results:
        lines += ["", *_auth_section(results["auth"])]
    if "jobs" in results:
        lines += ["", *_jobs_section(results["jobs"])]
    if "lifecycle" in results:
        lines += ["", *_lifecycle_section(results["lifecycle"])]
    lines += [
        "",
        "## Provisioning: `POST /admin/tenants`, one at a time",
        "",
        "| isolation | tenants created | median ms | p90 ms | target |",
        "|---|---:|---:|---:|---|",
    ]
    for mode, latencies in results["provisioning"].items():
        ordered = sorted(latencies)
        median = statistics.median(ordered)
        target = PROVISIONING_TARGETS_MS.get(mode)
        verdict = f"<= {target:.0f} ms: {_verdict(median <= target)}" if target else ""
        lines.append(
            f"| {mode} | {len(ordered)} | {median:.1f} | {ordered[int(len(ordered) * 0.9)]:.1f} "
            f"| {verdict} |"
        )
    lines += [
        "",
        "## Migrations across tenants: `migrate` adding one column in every namespace",
        "",
        "Wall-clock time of the CLI command (process start included); afterwards every "
        "namespace's own version table is read back.",
        "",
        "| isolation | tenants | concurrency (processes) | seconds | ms per tenant | at head"
        " | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in results["migrations"]:
        target = MIGRATION_TARGET_S.get((m["mode"], m["tenants"]))
        verdict = f"<= {target:.0f} s: {_verdict(m['seconds'] <= target)}" if target else ""
        lines.append(
            f"| {m['mode']} | {m['tenants']} | {m['concurrency']} | {m['seconds']:.1f} "
            f"| {m['per_tenant_ms']:.1f} | {m['at_head']}/{m['tenants']} | {verdict} |"
        )
    lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    _plot(results, out / "report.png")


def _plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["requests"]
    first = rows[0]["phase"]
    bars = [r for r in rows if r["phase"] == first and "ratio" in r]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    names = [r["variant"] for r in bars]
    ratios = [r["ratio"] for r in bars]
    colors = ["#999999" if n.startswith("anchor") else "#2a7ab9" for n in names]
    left.barh(names, ratios, color=colors)
    left.axvline(1.0, color="black", linewidth=0.8)
    left.axvline(0.95, color="#cc3333", linestyle="--", linewidth=0.8, label="0.95x target")
    left.set_xlabel("throughput / its baseline (same round, median)")
    left.set_title(f"Requests, {first} (grey: fastapi-tenancy 0.5.0)")
    left.invert_yaxis()
    left.legend(loc="lower right")
    for mode, marker in ((RLS_DEFAULTS, "o"), (SCHEMA_DEFAULTS, "s")):
        points = sorted(
            (int(r["phase"].split()[0]), r["ratio"]) for r in rows if r["variant"] == mode
        )
        right.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=mode)
    right.set_xscale("log")
    right.axhline(0.95, color="#cc3333", linestyle="--", linewidth=0.8)
    right.axhline(1.0, color="black", linewidth=0.8)
    right.set_xlabel("tenants")
    right.set_ylabel("throughput / bare-filtered")
    right.set_title("Scale curve: GET /api/notes")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "results")
    write_report(json.loads((folder / "results.json").read_text()), folder)

"""Render every supported combination; then lint, type-check and test what it generates."""

from __future__ import annotations

import itertools
import sys
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import choices, render, run

STRATEGIES = ("isolation", "resolution", "tenant_store")
#: A setting each resolver needs: present in .env.example only when it is chosen.
RESOLVER_SETTINGS = {
    "header": "TENANT_HEADER=",
    "subdomain": "TENANT_BASE_DOMAIN=",
    "path": "TENANT_PATH_PREFIX=",
    "jwt": "TENANT_JWT_ALGORITHM=",
}
JINJA_LEFTOVER = re.compile(r"\{\{ |\{%|%\}")


def _try(tmp: Path, **answers: Any) -> bool:
    try:
        render(tmp, **answers)
    except ValueError as exc:
        assert "not available in this release" in str(exc), exc
        return False
    return True


def _available(question: str, tmp: Path) -> list[str]:
    return [value for value in choices(question) if _try(tmp / f"{question}-{value}", **{question: value})]


@pytest.fixture(scope="module")
def available(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    tmp = tmp_path_factory.mktemp("probe")
    return {question: _available(question, tmp) for question in STRATEGIES}


def test_unavailable_strategies_are_refused_clearly(available: dict[str, list[str]]) -> None:
    """Each strategy question has at least its default working; others fail loudly."""
    for question in STRATEGIES:
        assert available[question], question


FEATURES = list(itertools.product(choices("rate_limiting"), choices("audit_log")))


def _combos(available: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every available strategy triple with all features on, then every feature
    pair with the defaults. ``tenant_store=memory`` pairs with ``rls`` only."""
    combos = [
        {"isolation": i, "resolution": r, "tenant_store": t, "rate_limiting": True, "audit_log": True}
        for i, r, t in itertools.product(*(available[q] for q in STRATEGIES))
        if not (t == "memory" and i != "rls")
    ]
    combos += [
        {**DEFAULTS, "rate_limiting": rl, "audit_log": audit}
        for rl, audit in FEATURES
        if not (rl and audit)
    ]
    return combos


def _files(project: Path) -> set[str]:
    return {
        str(path.relative_to(project))
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.parts
    }


def test_render_only_what_was_chosen(tmp_path: Path, available: dict[str, list[str]]) -> None:
    for index, answers in enumerate(_combos(available)):
        project = render(tmp_path / str(index), **answers)
        files = _files(project)
        for name in files:
            if name.endswith((".py", ".toml", ".md", ".ini", ".example", ".yml", ".cfg")):
                text = (project / name).read_text()
                assert not JINJA_LEFTOVER.search(text.replace("${", "")), f"Jinja left in {name}"
        package = project / "src" / "my_saas_service"
        tenancy = package / "tenancy"
        assert (tenancy / "ratelimit.py").exists() == answers["rate_limiting"], answers
        assert (tenancy / "audit.py").exists() == answers["audit_log"], answers
        assert (project / "tests" / "test_ratelimit.py").exists() == answers["rate_limiting"]
        assert (project / "tests" / "test_audit.py").exists() == answers["audit_log"]
        pyproject = (project / "pyproject.toml").read_text()
        assert '"redis>=' in pyproject  # REDIS_URL: cache invalidation, rate limits, store
        resolution = answers["resolution"]
        resolvers = {p.stem for p in (tenancy / "resolvers").glob("*.py")}
        assert resolvers == {"__init__", "base", resolution}
        resolver_tests = {p.stem for p in (project / "tests").glob("test_resolution_*.py")}
        assert resolver_tests == {f"test_resolution_{resolution}"}
        assert ('"pyjwt' in pyproject) == (resolution == "jwt"), answers
        env_example = (project / ".env.example").read_text()
        for value, setting in RESOLVER_SETTINGS.items():
            assert (setting in env_example) == (value == resolution), (setting, answers)
        isolation = {p.stem for p in (tenancy / "isolation").glob("*.py")}
        chosen = {"hybrid", "rls", "schema"} if answers["isolation"] == "hybrid" else {answers["isolation"]}
        assert isolation == {"__init__", "base", "session", *chosen}
        assert (tenancy / "namespaces.py").exists() == (answers["isolation"] != "rls")
        stores = {p.stem for p in (tenancy / "stores").glob("*.py")}
        store = answers["tenant_store"]
        durable = set() if store == "memory" else {"sqlalchemy"}
        assert stores == {"__init__", "base", *durable, store}, answers
        source = "\n".join(p.read_text() for p in package.rglob("*.py"))
        assert ("import jwt" in source) == (answers["resolution"] == "jwt"), answers
        for name in ("docker-compose.yml", ".github/workflows/ci.yml"):
            assert isinstance(yaml.safe_load((project / name).read_text()), dict), name
        # Every combination is lint- and format-clean (types and tests: see below).
        run([sys.executable, "-m", "ruff", "check", "--quiet", "."], project)
        run([sys.executable, "-m", "ruff", "format", "--check", "--quiet", "."], project)


DEFAULTS = {"isolation": "rls", "resolution": "header", "tenant_store": "sqlalchemy"}


def _cases() -> list[dict[str, Any]]:
    """Every strategy value with the other defaults, and every feature-flag pair."""
    cases = [{question: value} for question in STRATEGIES for value in choices(question)]
    cases += [{"rate_limiting": rl, "audit_log": audit} for rl, audit in FEATURES]
    unique: dict[str, dict[str, Any]] = {}
    for case in cases:
        unique.setdefault(_case_id(case), case)
    return list(unique.values())


def _case_id(case: dict[str, Any]) -> str:
    full = {**DEFAULTS, "rate_limiting": True, "audit_log": True, **case}
    changed = {k: v for k, v in full.items() if DEFAULTS.get(k, True) != v}
    return "-".join(f"{k}={v}" for k, v in sorted(changed.items())) or "defaults"


@pytest.mark.parametrize("case", _cases(), ids=_case_id)
def test_generated_project_passes_its_own_checks(
    tmp_path: Path, uv: str, shared_env: Path, case: dict[str, Any]
) -> None:
    """The generated project's lint, format, types and tests, on real PostgreSQL.

    A strategy value not implemented yet must be refused with a clear message
    instead (checked here, not skipped).
    """
    if not _try(tmp_path / "service", **case):
        return
    project = tmp_path / "service"
    env = {"UV_PROJECT_ENVIRONMENT": str(shared_env)}
    run([uv, "sync", "--quiet"], project, env)
    bin_dir = shared_env / "bin"
    run([str(bin_dir / "ruff"), "check", "."], project)
    run([str(bin_dir / "ruff"), "format", "--check", "."], project)
    run([str(bin_dir / "mypy"), "src", "tests"], project)
    # Its own temporary root: pytest sessions running at once on one machine share
    # /tmp/pytest-of-<user> otherwise, and with it their embedded PostgreSQL data.
    basetemp = str(tmp_path / "pytest")
    pytest_args = ["-q", "-p", "no:cacheprovider", "--basetemp", basetemp]
    output = run([str(bin_dir / "pytest"), *pytest_args], project)
    summary = output.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary

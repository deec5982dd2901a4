"""Every combination renders what its answers ask for, and nothing else; a few run their own checks.

Tables drive the tests: ``COMBINATIONS`` (answers by id, built from copier.yml's choices),
``EXPECTED`` (generated path -> does it exist for these answers), ``CONTENT`` (generated text
-> does it hold this string for these answers) and ``OWN_CHECKS`` (the combinations whose
generated project runs its own ruff, mypy --strict and pytest). Each combination is rendered
once per session; every check is a test of its own, named after the file and the combination,
so that one failure hides no other.
"""

from __future__ import annotations

import fnmatch
import itertools
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import QUESTIONS, choices, render, run, run_pytest

Answers = dict[str, Any]
Predicate = Callable[[Answers], bool]

STRATEGIES = ("isolation", "resolution", "tenant_store")
FEATURES = ("rate_limiting", "audit_log")
#: Answers with choices that combination ids name only when not the default ("-auth_none").
OPTIONS = ("auth", "jobs")
#: copier.yml's defaults for the answers the tables vary (jobs': with a durable store).
DEFAULTS: Answers = {
    name: QUESTIONS[name]["default"] for name in (*STRATEGIES, *FEATURES, *OPTIONS)
} | {"jobs": "procrastinate"}
#: The package directory of every render (the default project_slug's package).
PKG = "src/my_saas_service"


# --- the combinations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """Answers copier.yml's validators refuse together, and what the refusal must name."""

    #: The questions the rule is about (the refused cases vary these, the rest stay default).
    questions: tuple[str, ...]
    applies: Predicate
    message: str


REFUSALS = (
    Refusal(
        ("isolation", "tenant_store"),
        lambda a: a["tenant_store"] == "memory" and a["isolation"] != "rls",
        "tenant_store=memory",
    ),
    Refusal(
        ("tenant_store", "jobs"),
        lambda a: a["tenant_store"] == "memory" and a["jobs"] != "none",
        "tenant_store=memory with jobs=none",
    ),
)


def _as_copier_defaults(answers: Answers) -> Answers:
    """``jobs`` defaults to ``none`` with the memory store, as copier.yml's default does."""
    if answers["tenant_store"] == "memory" and answers["jobs"] == DEFAULTS["jobs"]:
        return {**answers, "jobs": "none"}
    return answers


def combination_id(answers: Answers) -> str:
    """``isolation-resolution-store``, then ``no_<feature>`` for each feature turned off,
    then ``<option>_<value>`` for each option that is not its default."""
    off = [f"no_{feature}" for feature in FEATURES if not answers[feature]]
    options = [f"{o}_{answers[o]}" for o in OPTIONS if answers[o] != DEFAULTS[o]]
    return "-".join([*(str(answers[q]) for q in STRATEGIES), *off, *options])


def _answers(combination: str) -> Answers:
    """The answers a combination id stands for (the inverse of ``combination_id``)."""
    values = combination.split("-")
    answers: Answers = dict(zip(STRATEGIES, values, strict=False))
    answers |= {feature: f"no_{feature}" not in values for feature in FEATURES}
    for option in OPTIONS:
        named = [v.removeprefix(f"{option}_") for v in values if v.startswith(f"{option}_")]
        answers[option] = named[0] if named else DEFAULTS[option]
    assert combination_id(answers) == combination, f"not a combination id: {combination}"
    for question in STRATEGIES:
        assert answers[question] in choices(question), f"{combination}: {question}?"
    return answers


def _refused(answers: Answers) -> bool:
    return any(refusal.applies(answers) for refusal in REFUSALS)


def _product(questions: tuple[str, ...], base: Answers) -> Iterator[Answers]:
    for values in itertools.product(*(choices(q) for q in questions)):
        answers = {**base, **dict(zip(questions, values, strict=True))}
        yield answers if "jobs" in questions else _as_copier_defaults(answers)


#: The combination with the most parts: every hybrid module, custom domains, the Redis store.
HEAVIEST = "hybrid-subdomain-redis"
#: Combinations whose generated project runs its own ruff, mypy --strict and pytest on real
#: PostgreSQL and Redis (about a minute each), with what each is there for. Together they
#: take every answer value at least once and each feature off, alone and together; they
#: differ from each other in several answers at once, so that interactions get tried too.
OWN_CHECKS: dict[str, str] = {
    "rls-header-sqlalchemy": "the defaults: what `copier copy` gives without answers",
    "schema-jwt-sqlalchemy-no_rate_limiting-auth_none": (
        "schemas; no users: an identity provider's tokens (TENANT_JWT_*, its key set)"
    ),
    "schema-jwt-redis": (
        "audit policies without RLS; the Redis store over schemas; JWT with built-in users"
    ),
    "database-path-sqlalchemy-no_audit_log": "database engines; no policies module at all",
    "schema-header-sqlalchemy-no_audit_log-jobs_none": (
        "several PostgreSQL servers (DATABASE_SERVERS needs no audit log and no jobs)"
    ),
    "rls-custom-memory-no_rate_limiting-no_audit_log-jobs_none": (
        "the smallest project: no durable store, no jobs"
    ),
    "rls-path-memory-no_rate_limiting-auth_oidc-jobs_none": (
        "an identity provider's tokens (OIDC_*, its key set), users made at first sight"
    ),
    HEAVIEST: "the heaviest: every hybrid module, custom domains, the Redis store, every feature",
}

#: Rendered and checked like every combination, without running their own tests: answers
#: that meet in code of their own (the provider's token names the tenant).
ALSO_RENDERED = ("schema-jwt-sqlalchemy-auth_oidc",)


def _combinations() -> dict[str, Answers]:
    """Every strategy triple with every feature on, every feature set with the strategies'
    defaults, the ``OWN_CHECKS`` and ``ALSO_RENDERED``; minus what copier.yml refuses."""
    combos = list(_product(STRATEGIES, {**DEFAULTS, **dict.fromkeys(FEATURES, True)}))
    combos += _product(FEATURES, DEFAULTS)
    combos += _product(OPTIONS, DEFAULTS)
    combos += [_answers(combination) for combination in (*OWN_CHECKS, *ALSO_RENDERED)]
    return {combination_id(a): a for a in combos if not _refused(a)}


#: Combination id -> answers: "hybrid-jwt-redis", "rls-header-sqlalchemy-no_audit_log"...
COMBINATIONS = _combinations()
#: Combinations copier.yml refuses, by id: each rule's questions varied, the rest default.
REFUSED = {
    combination_id(a): a
    for refusal in REFUSALS
    for a in _product(refusal.questions, DEFAULTS)
    if refusal.applies(a)
}


# --- what each combination renders ----------------------------------------------------------


def always(_: Answers) -> bool:
    return True


def when(question: str, *values: object) -> Predicate:
    """True when the answer to ``question`` is one of ``values``."""
    return lambda a: a[question] in values


def unless(question: str, *values: object) -> Predicate:
    return lambda a: a[question] not in values


def on(feature: str) -> Predicate:
    return lambda a: bool(a[feature])


uses_rls = when("isolation", "rls", "hybrid")
uses_schemas = when("isolation", "schema", "hybrid")
durable_store = unless("tenant_store", "memory")
has_users = unless("auth", "none")
builtin_auth = when("auth", "builtin")
oidc_auth = when("auth", "oidc")
has_jobs = unless("jobs", "none")


def custom_domains(answers: Answers) -> bool:
    return bool(answers["resolution"] == "subdomain" and durable_store(answers))


#: Generated path -> whether it exists for the answers. Every file whose presence depends on
#: the answers is listed (checked below), and so is every file of a strategy directory.
EXPECTED: dict[str, Predicate] = {
    # One resolver module, named after its answer, and its tests.
    f"{PKG}/tenancy/resolvers/__init__.py": always,
    f"{PKG}/tenancy/resolvers/base.py": always,
    **{f"{PKG}/tenancy/resolvers/{v}.py": when("resolution", v) for v in choices("resolution")},
    **{f"tests/test_resolution_{v}.py": when("resolution", v) for v in choices("resolution")},
    # An identity provider's key set: the jwt resolver's and auth=oidc's.
    f"{PKG}/tenancy/jwks.py": lambda a: a["resolution"] == "jwt" or oidc_auth(a),
    "tests/utils/provider.py": lambda a: a["resolution"] == "jwt" or oidc_auth(a),
    "tests/test_jwks.py": lambda a: a["resolution"] == "jwt" and not has_users(a),
    # A browser's WebSocket names its bearer token as a subprotocol.
    f"{PKG}/tenancy/websocket_bearer.py": lambda a: a["resolution"] == "jwt" or has_users(a),
    # Isolation: hybrid routes between rls and schema, so it carries both.
    f"{PKG}/tenancy/isolation/__init__.py": always,
    f"{PKG}/tenancy/isolation/base.py": always,
    f"{PKG}/tenancy/isolation/session.py": always,
    f"{PKG}/tenancy/isolation/rls.py": uses_rls,
    f"{PKG}/tenancy/isolation/schema.py": uses_schemas,
    f"{PKG}/tenancy/isolation/database.py": when("isolation", "database"),
    f"{PKG}/tenancy/isolation/hybrid.py": when("isolation", "hybrid"),
    f"{PKG}/tenancy/namespaces.py": unless("isolation", "rls"),
    f"{PKG}/tenancy/policies.py": lambda a: uses_rls(a) or a["audit_log"],
    "tests/test_isolation_rls.py": uses_rls,
    # Citus readiness: the rule (tenant_id in every key) and its check.
    f"{PKG}/tenancy/distribution.py": uses_rls,
    "tests/test_distribution.py": uses_rls,
    "tests/test_isolation_schema.py": uses_schemas,
    "tests/test_isolation_database.py": when("isolation", "database"),
    "tests/test_isolation_hybrid.py": when("isolation", "hybrid"),
    "tests/test_namespaces.py": unless("isolation", "rls"),
    # Stores: the Redis store is a cache in front of the SQLAlchemy one.
    f"{PKG}/tenancy/stores/__init__.py": always,
    f"{PKG}/tenancy/stores/base.py": always,
    f"{PKG}/tenancy/stores/sqlalchemy.py": durable_store,
    f"{PKG}/tenancy/stores/redis.py": when("tenant_store", "redis"),
    f"{PKG}/tenancy/stores/memory.py": when("tenant_store", "memory"),
    f"{PKG}/cli/tenants.py": durable_store,
    f"{PKG}/cli/tenant_scope.py": durable_store,
    f"{PKG}/cli/tenants_archive.py": durable_store,
    f"{PKG}/api/admin_archive.py": durable_store,
    f"{PKG}/tenancy/archive.py": durable_store,
    f"{PKG}/tenancy/exporter.py": durable_store,
    f"{PKG}/tenancy/importer.py": durable_store,
    f"{PKG}/tenancy/erasure.py": durable_store,
    "tests/test_archive.py": durable_store,
    "tests/test_cli_archive.py": durable_store,
    "tests/test_erasure.py": durable_store,
    f"{PKG}/cli/tenants_moves.py": durable_store,
    # Moving tenants between strategies: hybrid's (single strategies refuse, and test that).
    f"{PKG}/tenancy/mover.py": when("isolation", "hybrid"),
    f"{PKG}/migrations/shared/versions/shared_0004_move_fence.py": when("isolation", "hybrid"),
    "tests/test_moves.py": when("isolation", "hybrid"),
    "tests/test_moves_refused.py": lambda a: a["isolation"] != "hybrid" and durable_store(a),
    "tests/test_purge.py": durable_store,
    "tests/test_cli_tenants.py": durable_store,
    "tests/test_races.py": durable_store,
    "tests/test_redis.py": durable_store,
    "tests/test_instances.py": durable_store,
    # Several PostgreSQL servers for tenants' schemas or databases (not hybrid's: they stay on
    # the primary); the tests run where it is built (no audit log, no jobs), else the refusal.
    f"{PKG}/tenancy/servers.py": when("isolation", "schema", "database"),
    f"{PKG}/tenancy/placement.py": when("isolation", "schema", "database"),
    f"{PKG}/migrations/shared/versions/shared_0007_servers.py": when(
        "isolation", "schema", "database"
    ),
    "tests/test_servers.py": when("isolation", "schema", "database"),
    # Features.
    f"{PKG}/tenancy/ratelimit.py": on("rate_limiting"),
    f"{PKG}/tenancy/limiter.py": lambda a: a["rate_limiting"] or builtin_auth(a),
    "tests/test_ratelimit.py": on("rate_limiting"),
    f"{PKG}/tenancy/audit.py": on("audit_log"),
    f"{PKG}/api/audit.py": on("audit_log"),
    "tests/test_audit.py": on("audit_log"),
    # Every project checks its own settings against .env.example.
    "tests/test_settings.py": always,
    # Users and memberships (auth=builtin or oidc); the service's own tokens (builtin); an
    # identity provider's tokens (oidc).
    **{
        f"{PKG}/auth/{name}.py": has_users
        for name in (
            *("__init__", "access", "audit", "dependencies", "errors", "events", "inputs"),
            *("models", "settings", "store", "wiring"),
        )
    },
    **{
        f"{PKG}/auth/{name}.py": builtin_auth
        for name in ("passwords", "refresh", "service", "tokens")
    },
    f"{PKG}/auth/oidc.py": oidc_auth,
    f"{PKG}/api/auth.py": has_users,
    f"{PKG}/api/users.py": has_users,
    f"{PKG}/cli/users.py": has_users,
    "tests/test_cli_users.py": builtin_auth,
    f"{PKG}/migrations/shared/versions/shared_0002_auth.py": has_users,
    "tests/test_auth.py": builtin_auth,
    "tests/test_auth_events.py": builtin_auth,
    "tests/test_oidc.py": oidc_auth,
    "tests/utils/auth.py": has_users,
    # The service's own users only (auth=builtin): sign-up, invitations and a tenant's
    # members; mail, password resets and email verification; login limits.
    **{
        f"{PKG}/auth/{name}.py": builtin_auth
        for name in (
            *("delivery", "invitations", "members", "signup", "mail", "recovery"),
            *("recovery_settings", "user_tokens", "guard", "token_cache"),
        )
    },
    **{f"{PKG}/api/{name}.py": builtin_auth for name in ("members", "signup", "recovery")},
    **{
        f"tests/test_{name}.py": builtin_auth
        for name in ("members", "invitations", "signup", "recovery", "login_limits", "token_cache")
    },
    "tests/utils/members.py": builtin_auth,
    # Background jobs (jobs=procrastinate): the queue, the worker, the example export, the
    # queue's gauges and the job's span.
    **{
        f"{PKG}/jobs/{name}.py": has_jobs
        for name in (
            *("__init__", "definitions", "queue", "runner", "worker", "operations"),
            *("settings", "tasks", "metrics", "tracing"),
        )
    },
    **{f"{PKG}/api/{name}.py": has_jobs for name in ("exports", "jobs")},
    f"{PKG}/cli/jobs.py": has_jobs,
    f"{PKG}/models/exports.py": has_jobs,
    f"{PKG}/migrations/shared/versions/shared_0003_jobs.py": has_jobs,
    f"{PKG}/migrations/shared/versions/shared_0006_audit_log_key.py": on("audit_log"),
    f"{PKG}/migrations/tenant/versions/tenant_0002_note_exports.py": has_jobs,
    "tests/test_jobs.py": has_jobs,
    "tests/utils/jobs.py": has_jobs,
    # Custom domains (subdomain resolution, a durable store): the registry, its DNS check,
    # its admin API and CLI, and a DNS server for its tests.
    **{
        f"{PKG}/tenancy/domains/{name}.py": custom_domains
        for name in (
            *("__init__", "lifecycle", "names", "resolver", "settings", "store", "verify"),
            "wiring",
        )
    },
    f"{PKG}/api/admin_domains.py": custom_domains,
    f"{PKG}/cli/tenants_domains.py": custom_domains,
    f"{PKG}/migrations/shared/versions/shared_0005_domains.py": custom_domains,
    "tests/test_domains.py": custom_domains,
    "tests/utils/dns.py": custom_domains,
}
#: Strategy directories hold only files listed in EXPECTED (no stray implementation).
STRATEGY_FILES = (
    f"{PKG}/tenancy/resolvers/*",
    f"{PKG}/tenancy/isolation/*",
    f"{PKG}/tenancy/stores/*",
    "tests/test_resolution_*",
    "tests/test_isolation_*",
)
#: (generated path or glob, text) -> whether the text is in it for the answers.
CONTENT: dict[tuple[str, str], Predicate] = {
    # REDIS_URL serves cache invalidation, rate limits and the Redis store alike.
    ("pyproject.toml", '"redis[hiredis]>='): always,
    ("pyproject.toml", '"pyjwt'): lambda a: a["resolution"] == "jwt" or has_users(a),
    ("pyproject.toml", '"pwdlib[argon2]'): builtin_auth,
    ("pyproject.toml", '"email-validator'): has_users,
    ("pyproject.toml", '"aiosmtplib>='): builtin_auth,
    ("pyproject.toml", '"aiosmtpd>='): builtin_auth,
    ("pyproject.toml", '"procrastinate>='): has_jobs,
    ("pyproject.toml", '"psycopg[binary]>='): has_jobs,
    (".env.example", "\nJOBS_CONCURRENCY="): has_jobs,
    (".env.example", "\nDATABASE_DIRECT_URL="): has_jobs,
    ("docker-compose.yml", "\n  worker:"): has_jobs,
    (".env.example", "\nMAIL_BACKEND="): builtin_auth,
    # The service's own token secret, generated into .env; one secret with jwt resolution.
    (".env", "\nAUTH_SECRET="): builtin_auth,
    (".env", "\nOIDC_JWKS_URL="): oidc_auth,
    (".env", "\nTENANT_JWT_SECRET="): lambda a: a["resolution"] == "jwt" and not has_users(a),
    (".env.example", "\nSIGNUP_MODE=invite"): builtin_auth,
    (".env.example", "\nAUTH_SECRET="): builtin_auth,
    (".env.example", "\nOIDC_ISSUER="): oidc_auth,
    (".env.example", "\nOIDC_TENANT_CLAIM="): lambda a: a["resolution"] == "jwt" and oidc_auth(a),
    # No passwords and no login with an identity provider.
    (f"{PKG}/*.py", '@router.post("/login"'): builtin_auth,
    (f"{PKG}/*.py", "password_hash"): builtin_auth,
    (f"{PKG}/main.py", "authenticate=parts.authenticate"): has_users,
    # users add-member names tenants: only a durable store knows them outside the server.
    (f"{PKG}/cli/*.py", '@users_app.command("add-member")'): lambda a: (
        has_users(a) and durable_store(a)
    ),
    # The tests name tenants the resolver's way: one helper module per answer.
    ("tests/utils/resolution.py", "def as_tenant("): always,
    ("tests/utils/resolution.py", '"tenant_jwt_secret"'): lambda a: (
        a["resolution"] == "jwt" and not has_users(a)
    ),
    ("tests/utils/resolution.py", '{"request": [_tenant_into_path]}'): when("resolution", "path"),
    # fnmatch's "*" crosses "/": every module of the package.
    (f"{PKG}/*.py", "import jwt"): lambda a: a["resolution"] == "jwt" or has_users(a),
    # Each resolver's settings appear in .env.example only when it is chosen.
    (".env.example", "\nTENANT_HEADER="): when("resolution", "header"),
    (".env.example", "\nTENANT_BASE_DOMAIN="): when("resolution", "subdomain"),
    (".env.example", "\nTENANT_DOMAIN_TXT_PREFIX="): custom_domains,
    ("pyproject.toml", '"dnspython>='): custom_domains,
    (".env.example", "\nTENANT_PATH_PREFIX="): when("resolution", "path"),
    (".env.example", "\nTENANT_JWT_ALGORITHM="): lambda a: (
        a["resolution"] == "jwt" and not has_users(a)
    ),
    (".env.example", "\nTENANT_CONNECTION_BUDGET="): when("isolation", "database"),
    (".env.example", "\nTENANT_REDIS_TTL_SECONDS="): when("tenant_store", "redis"),
    (".env.example", "\nRATE_LIMIT_REQUESTS="): on("rate_limiting"),
    # Browsers and proxies, in every project; a page may send the header that names the tenant.
    (".env.example", "\nCORS_ALLOW_ORIGINS="): always,
    (".env.example", "\nFORWARDED_ALLOW_IPS="): always,
    (f"{PKG}/settings.py", "*self.cors_allow_headers, self.tenant_header]"): when(
        "resolution", "header"
    ),
    (f"{PKG}/settings.py", "*self.cors_allow_headers, self.tenant_api_key_header]"): when(
        "resolution", "custom"
    ),
    (f"{PKG}/main.py", '"RateLimit-Remaining",'): on("rate_limiting"),
}
JINJA_LEFTOVER = re.compile(r"\{\{ |\{%|%\}")


@dataclass(frozen=True)
class Render:
    path: Path

    @cached_property
    def files(self) -> frozenset[str]:
        return frozenset(
            str(p.relative_to(self.path))
            for p in self.path.rglob("*")
            if p.is_file() and ".git" not in p.parts
        )

    @cached_property
    def texts(self) -> dict[str, str]:
        """Every file that is text (UTF-8), by path."""
        texts = {}
        for name in self.files:
            try:
                texts[name] = (self.path / name).read_text()
            except UnicodeDecodeError:
                continue
        return texts

    def text(self, pattern: str) -> str:
        return "\n".join(self.texts[n] for n in sorted(self.texts) if fnmatch.fnmatch(n, pattern))


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Render]:
    """Each supported combination rendered once per session (about a second each)."""
    root = tmp_path_factory.mktemp("renders")
    renders: dict[str, Render | Exception] = {}

    def get(combination: str) -> Render:
        if combination not in renders:
            answers = COMBINATIONS[combination]
            try:
                renders[combination] = Render(render(root / combination, **answers))
            except Exception as exc:  # rendered once, reported by every test that needs it
                renders[combination] = exc
        found = renders[combination]
        if isinstance(found, Exception):
            pytest.fail(f"{combination} does not render: {found!r}")
        return found

    return get


def _ids(value: object) -> str:
    return "|".join(value) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("combination", COMBINATIONS)
@pytest.mark.parametrize("path", EXPECTED)
def test_file_exists_when_its_answers_ask(
    rendered: Callable[[str], Render], path: str, combination: str
) -> None:
    expected = EXPECTED[path](COMBINATIONS[combination])
    assert (path in rendered(combination).files) == expected, (
        f"{path} should {'' if expected else 'not '}be rendered for {combination}"
    )


@pytest.mark.parametrize("combination", COMBINATIONS)
@pytest.mark.parametrize(("path", "needle"), CONTENT, ids=_ids)
def test_text_is_rendered_when_its_answers_ask(
    rendered: Callable[[str], Render], path: str, needle: str, combination: str
) -> None:
    text = rendered(combination).text(path)
    assert text, f"nothing matches {path}"
    expected = CONTENT[path, needle](COMBINATIONS[combination])
    assert (needle in text) == expected, (
        f"{needle.strip()!r} should {'' if expected else 'not '}be in {path} for {combination}"
    )


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_strategy_directories_hold_only_listed_files(
    rendered: Callable[[str], Render], combination: str
) -> None:
    stray = sorted(
        name
        for name in rendered(combination).files
        if any(fnmatch.fnmatch(name, pattern) for pattern in STRATEGY_FILES)
        and name not in EXPECTED
    )
    assert not stray, f"not in EXPECTED: {stray}"


def test_every_conditional_file_is_in_the_table(rendered: Callable[[str], Render]) -> None:
    """A file some combinations render and others do not must have an EXPECTED entry; an
    entry no combination renders is stale."""
    file_sets = [rendered(combination).files for combination in COMBINATIONS]
    everywhere, anywhere = frozenset.intersection(*file_sets), frozenset.union(*file_sets)
    unlisted, stale = anywhere - everywhere - set(EXPECTED), set(EXPECTED) - anywhere
    assert (sorted(unlisted), sorted(stale)) == ([], [])


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_no_jinja_left(rendered: Callable[[str], Render], combination: str) -> None:
    texts = rendered(combination).texts
    # "${" opens shell and GitHub Actions expressions, not Jinja.
    left = sorted(n for n, text in texts.items() if JINJA_LEFTOVER.search(text.replace("${", "")))
    assert not left, f"Jinja left in {left}"


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_yaml_files_parse(rendered: Callable[[str], Render], combination: str) -> None:
    project = rendered(combination)
    names = sorted(n for n in project.files if n.endswith((".yml", ".yaml")))
    assert {"docker-compose.yml", ".github/workflows/ci.yml"} <= set(names)
    for name in names:
        assert isinstance(yaml.safe_load(project.texts[name]), dict), name


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_lint_and_format_clean(rendered: Callable[[str], Render], combination: str) -> None:
    """ruff check and ruff format, with the generated pyproject.toml's rules (types and tests:
    test_generated_project_passes_its_own_checks)."""
    project = rendered(combination).path
    run([sys.executable, "-m", "ruff", "check", "--quiet", "--no-cache", "."], project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--quiet", "--no-cache", "."], project)


@pytest.mark.parametrize("combination", REFUSED)
def test_unsupported_combinations_are_refused_clearly(tmp_path: Path, combination: str) -> None:
    answers = REFUSED[combination]
    (message, *_) = [refusal.message for refusal in REFUSALS if refusal.applies(answers)]
    with pytest.raises(ValueError, match=re.escape(message)):
        render(tmp_path / "out", **answers)
    assert not (tmp_path / "out" / "pyproject.toml").exists()


# --- the generated projects' own checks -----------------------------------------------------


def test_own_checks_take_every_answer_value_and_the_heaviest(
    rendered: Callable[[str], Render],
) -> None:
    taken = [COMBINATIONS[combination] for combination in OWN_CHECKS]
    for question in (*STRATEGIES, *FEATURES, *OPTIONS):
        supported = {answers[question] for answers in COMBINATIONS.values()}
        missing = supported - {answers[question] for answers in taken}
        assert not missing, f"no generated project runs its checks with {question}={missing}"
    most = max(len(rendered(combination).files) for combination in COMBINATIONS)
    assert len(rendered(HEAVIEST).files) == most, f"{HEAVIEST} is not the heaviest"


@pytest.mark.parametrize("combination", OWN_CHECKS)
def test_generated_project_passes_its_own_checks(
    rendered: Callable[[str], Render],
    tmp_path: Path,
    uv: str,
    shared_env: Path,
    combination: str,
) -> None:
    """The generated project's lint, format, types (src and tests) and tests, on real
    PostgreSQL and Redis, as its CI runs them."""
    project = tmp_path / "service"
    shutil.copytree(rendered(combination).path, project)
    run([uv, "sync", "--quiet"], project, {"UV_PROJECT_ENVIRONMENT": str(shared_env)})
    bin_dir = shared_env / "bin"
    run([str(bin_dir / "ruff"), "check", "."], project)
    run([str(bin_dir / "ruff"), "format", "--check", "."], project)
    run([str(bin_dir / "mypy"), "src", "tests"], project)
    # Its own temporary root: pytest sessions running at once on one machine share
    # /tmp/pytest-of-<user> otherwise, and with it their embedded PostgreSQL data.
    basetemp = str(tmp_path / "pytest")
    pytest_args = ["-q", "-p", "no:cacheprovider", "--basetemp", basetemp]
    summary = run_pytest([str(bin_dir / "pytest"), *pytest_args], project)
    assert " passed" in summary and "failed" not in summary and "skipped" not in summary, summary


#: An import that leaves ``tenancy/``: relative past its root, or absolute into the package.
_UPWARD = re.compile(
    r"^\s*from\s+(\.+)([\w.]*)\s+import|^\s*(?:from|import)\s+my_saas_service\.(\w+)", re.M
)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_tenancy_imports_nothing_of_the_app(
    rendered: Callable[[str], Render], combination: str
) -> None:
    """The vendored package is self-contained: the app imports tenancy/, never the reverse, so
    that tenancy/ can be read, tested and updated on its own."""
    upward = []
    for name, text in rendered(combination).texts.items():
        if not (name.startswith(f"{PKG}/tenancy/") and name.endswith(".py")):
            continue
        depth = name.count("/") - PKG.count("/") - 1  # tenancy/x.py: 1, tenancy/a/x.py: 2
        for match in _UPWARD.finditer(text):
            dots, _, absolute = match.groups()
            if (dots and len(dots) > depth) or (absolute and absolute != "tenancy"):
                upward.append(f"{name}: {match.group(0).strip()}")
    assert upward == []

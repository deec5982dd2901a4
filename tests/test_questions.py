"""copier.yml: every question is complete, and validators reject bad answers.

Driven by copier.yml itself: a question removed there removes its cases here. A question
with ``when: false`` is computed from other answers, not asked (conftest.is_computed).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml

from .conftest import ASKED, COMPUTED, choices, render

#: Question -> bad answers (with any other answers they need) and what the refusal names.
BAD_ANSWERS: dict[str, list[tuple[dict[str, Any], str]]] = {
    "project_name": [
        ({"project_name": 'Quote " name'}, "project_name"),
        ({"project_name": "   "}, "project name"),
    ],
    "project_slug": [
        ({"project_slug": "Bad Slug"}, "project_slug"),
        ({"project_slug": "1st-service"}, "project_slug"),
    ],
    "package_name": [
        ({"package_name": "1abc"}, "package_name"),
        ({"package_name": "my-pkg"}, "package_name"),
        ({"package_name": "fastapi"}, "shadow"),
    ],
    "description": [({"description": "back\\slash"}, "description")],
    "author_email": [({"author_email": "not-an-email"}, "author_email")],
    "isolation": [({"isolation": "shared"}, "isolation")],
    "tenant_store": [({"tenant_store": "memory", "isolation": "schema"}, "tenant_store=memory")],
    "auth": [({"auth": "ldap"}, "auth")],
    "jobs": [
        ({"jobs": "celery"}, "jobs"),
        ({"jobs": "procrastinate", "tenant_store": "memory"}, "jobs=procrastinate"),
    ],
}
BAD_CASES = [
    pytest.param(answers, message, id=f"{question}={answers[question]!r}")
    for question, cases in BAD_ANSWERS.items()
    if question in ASKED
    for answers, message in cases
]


@pytest.mark.parametrize("name", sorted(ASKED))
def test_every_asked_question_has_type_help_and_default(name: str) -> None:
    assert {"type", "help", "default"} <= set(ASKED[name]), f"{name} lacks type, help or default"


@pytest.mark.parametrize("name", sorted(n for n in ASKED if "choices" in ASKED[n]))
def test_every_default_is_one_of_the_choices(name: str) -> None:
    for default in _defaults(name):
        assert default in choices(name)


def _defaults(name: str) -> Iterator[Any]:
    """A question's default; a computed one (``{{ ... }}``) for every answer to the questions
    it reads."""
    default = ASKED[name]["default"]
    if not (isinstance(default, str) and "{{" in default):
        yield default
        return
    read = [q for q in ASKED if q != name and re.search(rf"\b{q}\b", default)]
    template = jinja2.Environment(autoescape=False).from_string(default)
    for values in itertools.product(*(choices(q) for q in read)):
        yield template.render(dict(zip(read, values, strict=True)))


@pytest.mark.parametrize("name", sorted(COMPUTED))
def test_every_computed_answer_has_type_and_default(name: str) -> None:
    """Its default is the computation; it offers no choice."""
    assert {"type", "default"} <= set(COMPUTED[name]), f"{name} lacks type or default"
    assert "choices" not in COMPUTED[name]


@pytest.mark.parametrize("name", sorted(n for n in ASKED if "validator" in ASKED[n]))
def test_every_validator_has_bad_answers_here(name: str) -> None:
    assert BAD_ANSWERS.get(name), f"add the answers {name}'s validator refuses to BAD_ANSWERS"


@pytest.mark.parametrize(("answers", "message"), BAD_CASES)
def test_validators_reject_bad_answers(
    tmp_path: Path, answers: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        render(tmp_path / "out", **answers)
    assert not (tmp_path / "out" / "pyproject.toml").exists()


def test_derived_defaults(tmp_path: Path) -> None:
    project = render(tmp_path / "p", project_name="Acme Billing API")
    answers = (project / ".copier-answers.yml").read_text()
    assert "project_slug: acme-billing-api" in answers
    assert "package_name: acme_billing_api" in answers
    assert (project / "src" / "acme_billing_api" / "tenancy" / "middleware.py").exists()


def test_computed_answers_are_not_recorded(tmp_path: Path) -> None:
    """``copier update`` recomputes them from the recorded answers (a recorded one would be
    replayed, stale, after an answer it derives from changed)."""
    project = render(tmp_path / "p", isolation="schema")
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert recorded["isolation"] == "schema"
    assert sorted(set(recorded) & set(COMPUTED)) == []


@pytest.mark.parametrize("setting", ["ADMIN_TOKEN", "AUTH_SECRET"])
def test_secrets_are_generated_and_not_recorded(tmp_path: Path, setting: str) -> None:
    first = render(tmp_path / "one")
    second = render(tmp_path / "two")
    tokens = [
        line.split("=", 1)[1]
        for project in (first, second)
        for line in (project / ".env").read_text().splitlines()
        if line.startswith(f"{setting}=")
    ]
    assert len(tokens) == 2
    assert tokens[0] != tokens[1]
    assert all(len(token) == 64 for token in tokens)
    assert tokens[0] not in (first / ".copier-answers.yml").read_text()
    assert tokens[0] not in (first / ".env").read_text().replace(f"{setting}={tokens[0]}", "")


def test_no_jobs_by_default_with_tenants_in_memory(tmp_path: Path) -> None:
    """The worker is another process: it needs a durable store, so memory defaults to none."""
    project = render(tmp_path / "p", tenant_store="memory")
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["jobs"] == "none"
    assert not (project / "src" / "my_saas_service" / "jobs").exists()
    assert "procrastinate" not in (project / "pyproject.toml").read_text()


def test_no_auth_secret_without_users(tmp_path: Path) -> None:
    project = render(tmp_path / "p", auth="none")
    assert "AUTH_SECRET" not in (project / ".env").read_text()


def test_no_auth_secret_with_an_identity_provider(tmp_path: Path) -> None:
    project = render(tmp_path / "p", auth="oidc")
    env = (project / ".env").read_text()
    assert "AUTH_SECRET" not in env
    assert "\nOIDC_ISSUER=\n" in env

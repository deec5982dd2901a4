"""copier.yml: every question is complete, and validators reject bad answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import QUESTIONS, render


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_every_question_has_type_help_and_default(name: str) -> None:
    spec = QUESTIONS[name]
    assert {"type", "help", "default"} <= set(spec), f"{name} lacks type, help or default"


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "Bad Slug"}, "project_slug"),
        ({"project_slug": "1st-service"}, "project_slug"),
        ({"package_name": "1abc"}, "package_name"),
        ({"package_name": "my-pkg"}, "package_name"),
        ({"package_name": "fastapi"}, "shadow"),
        ({"author_email": "not-an-email"}, "author_email"),
        ({"project_name": "Quote \" name"}, "project_name"),
        ({"description": "back\\slash"}, "description"),
        ({"project_name": "   "}, "project name"),
    ],
    ids=lambda value: str(value)[:30],
)
def test_validators_reject_bad_answers(
    tmp_path: Path, answers: dict[str, str], message: str
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


def test_admin_token_is_generated_and_not_recorded(tmp_path: Path) -> None:
    first = render(tmp_path / "one")
    second = render(tmp_path / "two")
    tokens = [
        line.split("=", 1)[1]
        for project in (first, second)
        for line in (project / ".env").read_text().splitlines()
        if line.startswith("ADMIN_TOKEN=")
    ]
    assert len(tokens) == 2
    assert tokens[0] != tokens[1]
    assert all(len(token) == 64 for token in tokens)
    assert tokens[0] not in (first / ".copier-answers.yml").read_text()

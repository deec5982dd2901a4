"""The documentation site builds (strict, offline) and names what the code has."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import QUESTIONS, ROOT, choices

DOCS = ROOT / "docs"
ANSWERS_PAGE = DOCS / "answers.md"
ENV_EXAMPLE = ROOT / "template" / ".env.example.jinja"


def _all_docs() -> str:
    return "\n".join(page.read_text() for page in sorted(DOCS.rglob("*.md")))


def test_site_builds_strictly(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "architecture" / "index.html").is_file()


def test_every_page_is_in_the_nav() -> None:
    # BaseLoader: mkdocs.yml has a !!python/name tag, and BaseLoader builds no objects.
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)

    def pages(node: object) -> list[str]:
        if isinstance(node, str):
            return [node]
        if isinstance(node, list):
            return [p for item in node for p in pages(item)]
        if isinstance(node, dict):
            return [p for value in node.values() for p in pages(value)]
        return []

    in_nav = set(pages(config["nav"]))
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk == in_nav


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_answers_page_names_every_question(name: str) -> None:
    assert f"`{name}`" in ANSWERS_PAGE.read_text()


@pytest.mark.parametrize(
    "name", sorted(n for n in QUESTIONS if "choices" in QUESTIONS[n])
)
def test_answers_page_names_every_choice(name: str) -> None:
    page = ANSWERS_PAGE.read_text()
    missing = [value for value in choices(name) if f"`{value}`" not in page]
    assert not missing, f"{name}: values {missing} are not on the answers page"


def test_docs_name_every_setting() -> None:
    settings = re.findall(r"^([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    assert len(settings) > 20, "expected the settings of .env.example"
    docs = _all_docs()
    missing = [name for name in settings if name not in docs]
    assert not missing, f"settings not documented: {missing}"

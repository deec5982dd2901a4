"""``.env`` holds secrets: only its owner may read it, and nothing prints them.

Copier writes ``.env`` with the template's file mode, and git records no mode finer
than 0644, so a generated ``.env`` starts readable by every local user; one copied or
created by hand usually is too. Every command checks it first: development commands
tighten it to 0600 and say so; ``serve`` refuses to start instead, because in
production a mode the CLI changed behind the operator's back would hide that the
secrets were exposed (and could break a deployment that shares the file with a group
on purpose).
"""

from __future__ import annotations

import os
import secrets
import shlex
import stat
import typing
from pathlib import Path

import typer
from dotenv import dotenv_values
from pydantic import SecretStr
from rich.console import Console
from rich.markup import escape

from ..settings import ENV_FILE, Settings

#: Group and others: any permission at all.
_SHARED = stat.S_IRWXG | stat.S_IRWXO


def credential_settings() -> frozenset[str]:
    """Variables that carry credentials: every secret setting, and URLs (they embed passwords)."""
    names = set()
    for name, field in Settings.model_fields.items():
        kinds = typing.get_args(field.annotation) or (field.annotation,)
        if SecretStr in kinds or name.endswith("_url"):
            names.add(name.upper())
    return frozenset(names)


def _values(path: Path) -> dict[str, str]:
    """The file's non-empty settings by upper-case name (settings names are case-insensitive)."""
    return {
        name.upper(): value
        for name, value in dotenv_values(path).items()
        if value is not None and value.strip()
    }


def protect_env_file(path: Path = Path(ENV_FILE), *, fix: bool) -> None:
    """Make a ``.env`` holding credentials owner-only (``fix``), or refuse to go on."""
    if os.name != "posix" or not path.is_file():
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & _SHARED:
        return
    held = sorted(credential_settings() & _values(path).keys())
    if not held:
        return
    access = "read" if mode & (stat.S_IRGRP | stat.S_IROTH) else "change"
    what = f"{path} holds {', '.join(held)} and other users can {access} it (mode {mode:04o})"
    if fix:
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        Console(stderr=True).print(
            f"[yellow]{escape(what)}: changed it to 0600 (owner only).[/yellow]", soft_wrap=True
        )
        return
    Console(stderr=True).print(
        f"[red]Refusing to start: {escape(what)}.[/red]\n"
        f"Run `chmod 600 {escape(shlex.quote(str(path)))}` (and replace those secrets if "
        "someone else may have read them), or pass the settings as environment variables.",
        soft_wrap=True,
    )
    raise typer.Exit(1)


def shell_export(setting: str, path: Path = Path(ENV_FILE)) -> str:
    """A shell line that exports a secret setting without showing its value."""
    if any(name.upper() == setting and value for name, value in os.environ.items()):
        # The environment wins over .env: only the user knows where that value came from.
        return f"# {setting}: the value in this server's environment (export it here too)"
    value = _values(path).get(setting)
    if value is None:
        return f"# {setting} is not set (add it to {path})"
    lines = [line for line in path.read_text().splitlines() if line.startswith(f"{setting}=")]
    if lines != [f"{setting}={value}"]:  # quoted, repeated...: grep would not read it right
        return f"# {setting}: in {path}"
    source = shlex.quote(str(path.resolve()))
    return f"export {setting}=$(grep ^{setting}= {source} | cut -d= -f2-)"


def add_missing_secret(setting: str, path: Path = Path(ENV_FILE)) -> bool:
    """Append a new random value for ``setting`` to ``path`` unless it has one; ``True``
    if it did. For secrets a project made by an older template never got (Copier writes
    ``.env`` once and leaves it alone on update)."""
    if not path.is_file() or setting in _values(path) or os.environ.get(setting):
        return False
    text = path.read_text()
    separator = "" if not text or text.endswith("\n") else "\n"
    with path.open("a") as file:
        file.write(f"{separator}{setting}={secrets.token_urlsafe(48)}\n")
    return True

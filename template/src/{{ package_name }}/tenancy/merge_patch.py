"""JSON Merge Patch (RFC 7396): change a few keys of a JSON object without resending it.

``{"features": {"exports": true}}`` sets one feature flag and keeps the others;
``{"limits": {"max_notes": null}}`` removes one limit. A patch that is not an object
replaces the target whole (the RFC's rule); ``null`` at the top level is refused by
the caller, since a tenant's configuration is always an object.
"""

from __future__ import annotations

from typing import Any


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied; neither argument is changed.

    Iterative over the patch's objects, so a deep patch needs no deep recursion
    (its depth is bounded by ``check_json`` before it gets here anyway).
    """
    if not isinstance(patch, dict):
        return patch
    result: dict[str, Any] = dict(target) if isinstance(target, dict) else {}
    pending: list[tuple[dict[str, Any], dict[str, Any]]] = [(result, patch)]
    while pending:
        into, changes = pending.pop()
        for key, value in changes.items():
            if value is None:
                into.pop(key, None)
            elif isinstance(value, dict):
                current = into.get(key)
                merged: dict[str, Any] = dict(current) if isinstance(current, dict) else {}
                into[key] = merged
                pending.append((merged, value))
            else:
                into[key] = value
    return result

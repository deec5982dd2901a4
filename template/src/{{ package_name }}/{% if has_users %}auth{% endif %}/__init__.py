"""Users, tenant memberships and the service's own tokens (``auth=builtin``).

Read in this order: ``models`` -> ``inputs`` -> ``passwords`` -> ``tokens`` ->
``refresh`` -> ``store`` -> ``access`` (the check on every tenant request) ->
``service`` (login, refresh, logout) -> ``dependencies`` -> ``wiring``; then
``members``, ``invitations`` (+ ``delivery``) and ``signup``; then mail and recovery:
``mail`` -> ``user_tokens`` -> ``recovery`` (password reset, email verification).
"""

from .access import Membership, User
from .dependencies import CurrentMembership, CurrentUser, RequireAdmin, RequireOwner, require_role
from .models import Role

__all__ = [
    "CurrentMembership",
    "CurrentUser",
    "Membership",
    "RequireAdmin",
    "RequireOwner",
    "Role",
    "User",
    "require_role",
]

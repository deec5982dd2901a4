"""How an invitation reaches its invitee, and a sign-up notice reaches an account's owner.

Each message is one function, so that sending it by mail is a change here only. For
now each is a log line on the ``auth.mail`` logger (INFO): in development, the token
to paste into ``POST /auth/invitations/accept``. That line carries the token: route
``auth.mail`` to wherever mail would go, never to a shared log.
"""

from __future__ import annotations

import logging

from ..tenancy.tenant import Tenant
from .invitations import Invitation

logger = logging.getLogger("auth.mail")


async def send_invitation(invitation: Invitation, token: str, tenant: Tenant) -> None:
    """Tell ``invitation.email`` they are invited to ``tenant``, with the token to accept."""
    logger.info(
        "To %s: you are invited to %s as %s until %s. Accept: POST /auth/invitations/accept "
        '{"token": "%s"} (with your access token, or with "email" and "password" for a '
        "new account)",
        invitation.email,
        tenant.name,
        invitation.role.value,
        invitation.expires_at.isoformat(timespec="minutes"),
        token,
    )


async def send_signup_notice(email: str) -> None:
    """Tell the owner of an existing account that someone signed up with their address
    (the sign-up's answer does not say so: it would tell anyone which addresses exist)."""
    logger.info(
        "To %s: someone tried to sign up with this address, which has an account already. "
        "Log in with it (or reset your password).",
        email,
    )

"""The mails of invitations and sign-ups: what they say, sent through ``mail.py``.

Each is built here and delivered after the answer (a background task: ``Postman.deliver``
never raises), like the password-reset and verification mails (``recovery.py``). Links
point to your web application (``PUBLIC_URL``): its page posts the token to the API.
"""

from __future__ import annotations

import json

from ..tenancy.tenant import Tenant
from .invitations import Invitation
from .mail import Message


def invitation_mail(invitation: Invitation, token: str, tenant: Tenant, public_url: str) -> Message:
    """Tell ``invitation.email`` they are invited to ``tenant``, with the token to accept."""
    until = invitation.expires_at.isoformat(timespec="minutes")
    return Message(
        to=invitation.email,
        subject=f"You are invited to {tenant.name}",
        body=(
            f"You are invited to join {tenant.name} as {invitation.role.value}. Accept here\n"
            f"(the link works once, until {until}):\n\n"
            f"{public_url}/accept-invitation?token={token}\n\n"
            "The page posts the token to POST /auth/invitations/accept, with your access\n"
            "token, or with an email and a password for a new account:\n\n"
            f"{json.dumps({'token': token})}\n"
        ),
    )


def signup_notice(email: str, public_url: str) -> Message:
    """Tell the owner of an existing account that someone signed up with their address
    (the sign-up's answer does not say so: it would tell anyone which addresses exist)."""
    return Message(
        to=email,
        subject="Someone tried to sign up with your address",
        body=(
            "Someone tried to sign up with this address, which has an account already.\n"
            f"Log in with it, or reset your password: {public_url}/reset-password\n"
            "If it was not you, ignore this mail.\n"
        ),
    )

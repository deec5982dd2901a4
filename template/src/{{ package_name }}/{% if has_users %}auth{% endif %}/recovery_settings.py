"""The settings of mail, password resets and email verification: part of ``AuthSettings``.

``MAIL_BACKEND=log`` (the default) writes each mail to the ``auth.mail`` logger, so
in development the reset link is in the terminal; ``smtp`` sends it through
``SMTP_HOST``. Links in mails start with ``PUBLIC_URL``: the address of the web
application whose ``/reset-password`` and ``/verify-email`` pages post the token
back to this service.
"""

from __future__ import annotations

from email.utils import parseaddr
from enum import StrEnum

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from ..tenancy.validation import clean_text


class MailBackend(StrEnum):
    #: Mails are written to the log (in production without their text: it holds tokens).
    LOG = "log"
    SMTP = "smtp"


class SmtpSecurity(StrEnum):
    #: Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    STARTTLS = "starttls"
    #: TLS from the first byte (port 465).
    TLS = "tls"
    #: No encryption: a relay on the same host or network only.
    NONE = "none"


class RecoverySettings(BaseModel):
    mail_backend: MailBackend = MailBackend.LOG
    #: The sender: an address, optionally with a name ("Acme <no-reply@acme.example>").
    mail_from: str = "no-reply@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    #: Both or neither: without them the server is used without logging in.
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    #: Connect, and each SMTP command: bounds how long an outage holds a sending task.
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    #: Where users open the links of mails: ``<PUBLIC_URL>/reset-password?token=...``.
    public_url: str = "http://localhost:8000"
    #: Lifetime of a password reset link.
    auth_password_reset_minutes: int = Field(default=60, ge=5, le=1440)
    #: Lifetime of an email verification link.
    auth_verify_email_hours: int = Field(default=48, ge=1, le=720)

    @field_validator("mail_from")
    @classmethod
    def _an_address(cls, value: str) -> str:
        clean_text(value)
        if "\n" in value or "\r" in value or "@" not in parseaddr(value)[1]:
            raise ValueError('MAIL_FROM is an address: "no-reply@example.com" or "Name <address>"')
        return value

    @field_validator("public_url")
    @classmethod
    def _a_web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(c in value for c in "?# \n"):
            raise ValueError("PUBLIC_URL is a web address: https://app.example.com")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _login_is_both_or_neither(self) -> RecoverySettings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("SMTP_USERNAME and SMTP_PASSWORD go together: set both or neither")
        return self

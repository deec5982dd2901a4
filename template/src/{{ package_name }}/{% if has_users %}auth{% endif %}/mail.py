"""Mail: a small ``Mailer`` protocol, a mailer that logs and one that speaks SMTP.

``MAIL_BACKEND`` picks one (``recovery_settings.py``). Mail goes out after the
response (``deliver``, run as a background task), so a slow or unreachable mail
server neither delays an answer nor turns it into an error: ``deliver`` never
raises, it logs the failure (``auth.mail``) and counts it.

``LogMailer`` is for development and tests: it writes each mail on the
``auth.mail`` logger, where the developer finds the link, and keeps the last ones
in ``outbox``. In production it writes only who a mail was for and its subject:
the text holds single-use tokens, which have no place in a log.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol

import aiosmtplib

from .recovery_settings import MailBackend, RecoverySettings, SmtpSecurity

logger = logging.getLogger("auth.mail")
#: Mails a ``LogMailer`` keeps (the newest).
OUTBOX_SIZE = 100


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    #: Plain text.
    body: str


class Mailer(Protocol):
    async def send(self, message: Message) -> None:
        """Send ``message``, or raise: ``deliver`` logs the failure."""
        ...


class LogMailer:
    def __init__(self, *, redact: bool = False) -> None:
        #: Write who and what only, never the text, and keep nothing (production).
        self.redact = redact
        #: The newest mails written (none when ``redact``).
        self.outbox: deque[Message] = deque(maxlen=OUTBOX_SIZE)

    async def send(self, message: Message) -> None:
        if self.redact:  # nor kept: the outbox is for tests
            logger.warning(
                "mail to %s NOT SENT (MAIL_BACKEND=log): %s", message.to, message.subject
            )
            return
        self.outbox.append(message)
        logger.info("mail to %s: %s\n\n%s", message.to, message.subject, message.body)


class SmtpMailer:
    def __init__(self, settings: RecoverySettings) -> None:
        self._settings = settings
        self._domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or None

    async def send(self, message: Message) -> None:
        settings = self._settings
        mail = EmailMessage()
        mail["From"] = settings.mail_from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self._domain)
        mail.set_content(message.body)
        password = settings.smtp_password
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=password.get_secret_value() if password is not None else None,
            use_tls=settings.smtp_security is SmtpSecurity.TLS,
            start_tls=settings.smtp_security is SmtpSecurity.STARTTLS,
            timeout=settings.smtp_timeout_seconds,
        )


class Postman:
    """Sends through a ``Mailer`` without ever raising: what background tasks call."""

    def __init__(self, mailer: Mailer) -> None:
        self.mailer = mailer
        #: Mails that could not be sent since start-up.
        self.failures = 0

    async def deliver(self, message: Message) -> bool:
        """Send ``message``; ``False`` (logged) if it could not be."""
        try:
            await self.mailer.send(message)
        except Exception as exc:  # an outage, a refusal, a bug: the request is answered
            self.failures += 1
            logger.error(
                "mail to %s NOT SENT (%s): %s: %s",
                message.to,
                message.subject,
                type(exc).__name__,
                exc,
            )
            return False
        return True


def build_mailer(settings: RecoverySettings, *, production: bool) -> Mailer:
    if settings.mail_backend is MailBackend.SMTP:
        return SmtpMailer(settings)
    if production:
        logger.warning(
            "MAIL_BACKEND=log in production: no mail is sent (password resets, email "
            "verification); set MAIL_BACKEND=smtp and SMTP_*"
        )
    return LogMailer(redact=production)

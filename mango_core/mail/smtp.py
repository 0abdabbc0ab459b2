"""The SMTP transport: settings, one connection per batch, and what a failure means.

Errors are sorted into two kinds, because the outbox treats them differently:

* :class:`TransientMailError` — try again later: the server is down or slow, answered 4xx, or
  Mango's own settings are wrong (a bad password or a refused sender is the operator's problem,
  not the message's: failing every message for it would lose mail);
* :class:`PermanentMailError` — this message will never go: the server answered 5xx to its
  recipients or to its content.

The password is never logged nor put into an error text.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

log = logging.getLogger("mango.mail")

SECURITY = ("none", "starttls", "ssl")


class MailConfigError(ValueError):
    """The [mail] settings cannot be used; the message names the key and what is expected."""


class MailError(RuntimeError):
    """Sending failed; ``str()`` is what staff see in the outbox."""


class TransientMailError(MailError):
    """Try again later (server unreachable, 4xx, or a configuration problem of Mango)."""


class PermanentMailError(MailError):
    """The server refused this message for good (5xx)."""


@dataclass(frozen=True)
class MailSettings:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    from_address: str = ""
    from_name: str = ""
    timeout: float = 30.0
    max_attempts: int = 12
    batch_size: int = 200
    keep_attachments_days: int = 90

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return (f"MailSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
                f"username={self.username!r}, password={'***' if self.password else ''!r}, "
                f"from_address={self.from_address!r})")

    @classmethod
    def from_section(cls, section: Mapping[str, Any] | None) -> MailSettings:
        """Validate the ``[mail]`` section of the configuration."""
        data = dict(section or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise MailConfigError(f"[mail]: unknown setting(s) {', '.join(unknown)}; "
                                  f"known: {', '.join(cls.__dataclass_fields__)}")

        def integer(key: str, low: int, high: int) -> int:
            value = data.get(key, getattr(cls, key))
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise MailConfigError(f"[mail] {key}: expected a whole number from {low} to {high}, got {value!r}")
            return value

        def text(key: str) -> str:
            value = data.get(key, getattr(cls, key))
            if not isinstance(value, str):
                raise MailConfigError(f"[mail] {key}: expected a string, got {type(value).__name__}")
            return value.strip()

        security = text("security").lower()
        if security not in SECURITY:
            raise MailConfigError(f"[mail] security: expected one of {', '.join(SECURITY)}, got {security!r}")
        timeout = data.get("timeout", cls.timeout)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 600:
            raise MailConfigError(f"[mail] timeout: expected seconds from 1 to 600, got {timeout!r}")
        settings = cls(host=text("host"), port=integer("port", 1, 65535), security=security,
                       username=text("username"), password=str(data.get("password") or ""),
                       from_address=text("from_address"), from_name=text("from_name"), timeout=float(timeout),
                       max_attempts=integer("max_attempts", 1, 100), batch_size=integer("batch_size", 1, 10000),
                       keep_attachments_days=integer("keep_attachments_days", 0, 36500))
        if settings.host and "@" not in settings.from_address:
            raise MailConfigError("[mail] from_address: an e-mail address is required when host is set")
        return settings


def _answer(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {text}".strip()


class SmtpConnection:
    """An open SMTP session; :meth:`send` raises a Transient/PermanentMailError."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpConnection:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._smtp is not None

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def open(self) -> None:
        s = self.settings
        try:
            if s.security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                smtp.ehlo()
                if s.security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.username:
                    smtp.login(s.username, s.password)
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise TransientMailError(f"the SMTP server {self.where} refused the login of {s.username!r}: "
                                     f"{_answer(exc.smtp_code, exc.smtp_error)}; check [mail] username/password") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TransientMailError(f"the SMTP server {self.where} does not support what [mail] security="
                                     f"{s.security!r} needs: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise TransientMailError(f"the SMTP server {self.where} answered "
                                     f"{_answer(exc.smtp_code, exc.smtp_error)}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientMailError(f"cannot connect to the SMTP server {self.where}: {exc}") from None
        self._smtp = smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None

    def send(self, message: EmailMessage, recipients: list[str]) -> dict[str, str]:
        """Send; returns the refused recipients of a partly accepted message (``{address: answer}``)."""
        if self._smtp is None:
            self.open()
        assert self._smtp is not None
        try:
            refused = self._smtp.send_message(message, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = {rcpt: _answer(code, text) for rcpt, (code, text) in exc.recipients.items()}
            detail = "; ".join(f"{rcpt}: {answer}" for rcpt, answer in answers.items())
            if all(500 <= code < 600 for code, _text in exc.recipients.values()):
                raise PermanentMailError(f"every recipient was refused: {detail}") from None
            raise TransientMailError(f"recipients refused for now: {detail}") from None
        except smtplib.SMTPSenderRefused as exc:  # the configured from_address: Mango's problem
            raise TransientMailError(f"the SMTP server refused the sender {exc.sender!r}: "
                                     f"{_answer(exc.smtp_code, exc.smtp_error)}; check [mail] from_address") from None
        except smtplib.SMTPServerDisconnected as exc:
            self._smtp = None
            raise TransientMailError(f"the SMTP server {self.where} closed the connection: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            answer = _answer(exc.smtp_code, exc.smtp_error)
            if 500 <= exc.smtp_code < 600:
                raise PermanentMailError(f"the SMTP server refused the message: {answer}") from None
            raise TransientMailError(f"the SMTP server deferred the message: {answer}") from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise TransientMailError(f"sending through {self.where} failed: {exc}") from None
        return {rcpt: _answer(code, text) for rcpt, (code, text) in (refused or {}).items()}

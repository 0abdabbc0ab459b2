"""Secrets of a plugin encrypted at rest (device credentials, mailbox passwords).

The keys are ``[plugin_settings.<plugin>] secret_keys``: a list of Fernet keys, made with
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``.
The first key encrypts; every key decrypts, so a key is rotated by putting the new one first and
dropping the old one once :meth:`SecretBox.rotate` has rewritten the stored tokens. Plain text
never goes to a log, an exception message or a page: :func:`mask` is what may be shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SETTING = "secret_keys"


class SecretsError(RuntimeError):
    """Missing or unusable keys, or a token none of them opens (the message never holds a secret)."""


class SecretBox:
    """``encrypt(text) -> token`` and back under a plugin's keys; ``what`` names the secrets in errors."""

    def __init__(self, plugin: str, what: str) -> None:
        self.plugin, self.what = plugin, what

    def _configured_keys(self) -> list[str]:
        from mango_core.kernel import current_mango

        keys = current_mango().plugin_settings(self.plugin).get(SETTING)
        if isinstance(keys, str):
            keys = [keys]
        return list(keys or [])

    def _fernet(self, keys: Sequence[str] | None) -> MultiFernet:
        keys = list(keys) if keys is not None else self._configured_keys()
        if not keys:
            raise SecretsError(f"no encryption keys for {self.what}s: set [plugin_settings.{self.plugin}] "
                               f"{SETTING} to a list of Fernet keys (the first encrypts)")
        try:
            return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
        except (ValueError, TypeError):
            raise SecretsError(f"[plugin_settings.{self.plugin}] {SETTING} holds a value that is not a Fernet key "
                               "(32 url-safe base64-encoded bytes)") from None

    def encrypt(self, text: str, *, keys: Sequence[str] | None = None) -> str:
        """An opaque token of ``text`` under the first key (each call gives a different token)."""
        if not isinstance(text, str):
            raise TypeError("only text is encrypted")
        return self._fernet(keys).encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str, *, keys: Sequence[str] | None = None) -> str:
        """The text of a token made by :meth:`encrypt` under any configured key."""
        try:
            return self._fernet(keys).decrypt(str(token).encode("ascii")).decode()
        except (InvalidToken, UnicodeError):
            raise SecretsError(f"a stored {self.what} cannot be decrypted with the configured keys") from None

    def rotate(self, token: str, *, keys: Sequence[str] | None = None) -> str:
        """The token re-encrypted under the first key (after a new key was put first)."""
        try:
            return self._fernet(keys).rotate(str(token).encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretsError(f"a stored {self.what} cannot be decrypted with the configured keys") from None


def mask(text: str | None) -> str:
    """What may be shown of a secret: its last two characters at most, never its length."""
    if not text:
        return ""
    visible = text[-2:] if len(text) >= 8 else ""
    return f"••••••{visible}"

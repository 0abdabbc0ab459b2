"""Device credentials encrypted at rest: ``encrypt(text) -> token``, ``decrypt(token) -> text``, ``mask(text)``.

The keys are ``[plugin_settings.isp] secret_keys``: a list of Fernet keys (``mango isp`` prints one
with ``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``).
The first key encrypts; every key decrypts, so a key is rotated by putting the new one first and
dropping the old one once :func:`rotate` has rewritten the stored tokens. Plain text never goes to
a log, an exception message or a page: :func:`mask` is what may be shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SETTING = "secret_keys"


class SecretsError(RuntimeError):
    """Missing or unusable keys, or a token none of them opens (the message never holds a secret)."""


def _configured_keys() -> list[str]:
    from mango_core.kernel import current_mango

    keys = current_mango().plugin_settings("isp").get(SETTING)
    if isinstance(keys, str):
        keys = [keys]
    return list(keys or [])


def _fernet(keys: Sequence[str] | None) -> MultiFernet:
    keys = list(keys) if keys is not None else _configured_keys()
    if not keys:
        raise SecretsError(f"no encryption keys for device credentials: set [plugin_settings.isp] {SETTING} "
                           "to a list of Fernet keys (the first encrypts)")
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError):
        raise SecretsError(f"[plugin_settings.isp] {SETTING} holds a value that is not a Fernet key "
                           "(32 url-safe base64-encoded bytes)") from None


def encrypt(text: str, *, keys: Sequence[str] | None = None) -> str:
    """An opaque token of ``text`` under the first key (each call gives a different token)."""
    if not isinstance(text, str):
        raise TypeError("only text is encrypted")
    return _fernet(keys).encrypt(text.encode()).decode("ascii")


def decrypt(token: str, *, keys: Sequence[str] | None = None) -> str:
    """The text of a token made by :func:`encrypt` under any configured key."""
    try:
        return _fernet(keys).decrypt(str(token).encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SecretsError("a stored credential cannot be decrypted with the configured keys") from None


def rotate(token: str, *, keys: Sequence[str] | None = None) -> str:
    """The token re-encrypted under the first key (after a new key was put first)."""
    try:
        return _fernet(keys).rotate(str(token).encode("ascii")).decode("ascii")
    except InvalidToken:
        raise SecretsError("a stored credential cannot be decrypted with the configured keys") from None


def mask(text: str | None) -> str:
    """What may be shown of a secret: its last two characters at most, never its length."""
    if not text:
        return ""
    visible = text[-2:] if len(text) >= 8 else ""
    return f"••••••{visible}"

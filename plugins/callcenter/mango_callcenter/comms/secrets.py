"""Mailbox passwords encrypted at rest (Fernet), keys from ``[plugin_settings.callcenter] secret_keys``.

The core has no encryption facility, and the call centre must not depend on the ISP plugin, so this
follows the same scheme as ``mango_isp.queue.secrets``: a list of Fernet keys, the first encrypts and
every one decrypts (rotation: put the new key first). A key is made with
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SETTING = "secret_keys"


class SecretsError(RuntimeError):
    """Missing or unusable keys, or a token no key opens (the message never holds a secret)."""


def _configured_keys() -> list[str]:
    from mango_core.kernel import current_mango

    keys = current_mango().plugin_settings("callcenter").get(SETTING)
    return [keys] if isinstance(keys, str) and keys else list(keys or [])


def _fernet(keys: Sequence[str] | None) -> MultiFernet:
    keys = list(keys) if keys is not None else _configured_keys()
    if not keys:
        raise SecretsError(f"no encryption keys for mailbox passwords: set [plugin_settings.callcenter] {SETTING}")
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError):
        raise SecretsError(f"[plugin_settings.callcenter] {SETTING} holds a value that is not a Fernet key") from None


def encrypt(text: str, *, keys: Sequence[str] | None = None) -> str:
    return _fernet(keys).encrypt(str(text).encode()).decode("ascii")


def decrypt(token: str, *, keys: Sequence[str] | None = None) -> str:
    try:
        return _fernet(keys).decrypt(str(token).encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise SecretsError("a stored mailbox password cannot be decrypted with the configured keys") from None

"""Mailbox passwords encrypted at rest under ``[plugin_settings.callcenter] secret_keys`` (see
:mod:`mango_core.secrets`)."""

from __future__ import annotations

from mango_core.secrets import SETTING, SecretBox, SecretsError, mask

BOX = SecretBox("callcenter", "mailbox password")
encrypt, decrypt = BOX.encrypt, BOX.decrypt

__all__ = ["SETTING", "SecretsError", "decrypt", "encrypt", "mask"]

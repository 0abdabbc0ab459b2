"""Device credentials encrypted at rest under ``[plugin_settings.isp] secret_keys`` (see
:mod:`mango_core.secrets`): ``encrypt(text) -> token``, ``decrypt(token) -> text``, ``rotate``, ``mask``."""

from __future__ import annotations

from mango_core.secrets import SETTING, SecretBox, SecretsError, mask

BOX = SecretBox("isp", "device credential")
encrypt, decrypt, rotate = BOX.encrypt, BOX.decrypt, BOX.rotate

__all__ = ["SETTING", "SecretsError", "decrypt", "encrypt", "mask", "rotate"]

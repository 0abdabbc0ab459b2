"""Errors of the auth services that a user can fix: translated in the UI, plain in the CLI."""

from __future__ import annotations

from typing import Any


class AuthInputError(ValueError):
    """Bad input to an account or role operation; nothing was changed.

    ``message`` is an English gettext msgid with ``%(name)s`` placeholders; views show
    :meth:`translated`, the command line ``str(error)``.
    """

    def __init__(self, message: str, **params: Any):
        self.message = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self) -> str:
        from flask_babel import gettext

        return gettext(self.message, **self.params)

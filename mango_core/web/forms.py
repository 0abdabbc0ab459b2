"""Form helpers shared by every module's Flask-WTF forms."""

from __future__ import annotations

try:
    from wtforms.fields.choices import SelectChoice
except ImportError:  # WTForms < 3.3 takes (value, label) pairs
    SelectChoice = None


def options(pairs: list[tuple]) -> list:
    """Select choices in the form the installed WTForms prefers."""
    return [SelectChoice(value, label) if SelectChoice else (value, label) for value, label in pairs]

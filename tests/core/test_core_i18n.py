"""Every user-visible string of the core and of each loaded plugin has a Czech translation."""

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

from mango_core.web.catalogs import merged_catalog

METHOD_MAP = [("**/static/**", "ignore"), ("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.do"}}
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}


def _packages(mango):
    seen = {}
    for plugin, path in mango.plugins.contributions("mango_translations"):
        seen[Path(path).parent] = plugin.name
    return seen


def test_every_loaded_plugin_ships_translations(mango):
    names = set(_packages(mango).values())
    assert {p.name for p in mango.plugins.ordered()} <= names


@pytest.mark.parametrize("lang", ["cs"])
def test_all_messages_are_translated(mango, lang):
    missing, found = [], 0
    for package, plugin in _packages(mango).items():
        catalog = merged_catalog(package / "i18n" / lang)
        for filename, _lineno, message, _comments, _context in extract_from_dir(
            package, METHOD_MAP, options_map=OPTIONS, keywords=KEYWORDS
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            found += 1
            entry = catalog.get(msgid)
            if entry is None or not entry.string:
                missing.append(f"{plugin}: {filename}: {msgid!r}")
    assert found > 50, "the extractor found almost nothing: is it configured right?"
    assert not missing, "Missing Czech translations:\n" + "\n".join(sorted(set(missing)))


@pytest.mark.parametrize("lang", ["cs"])
def test_no_message_is_translated_two_ways(mango, lang):
    """The catalogues of the core and the plugins are merged into one at run time, so an English
    message with two translations shows one of them everywhere. Where a word means two things
    ("Change" of a cash payment, "Change" a setting), the message must say which."""
    seen: dict[tuple[str, str | None], tuple[str, str]] = {}
    clashes = []
    for package, plugin in _packages(mango).items():
        for message in merged_catalog(package / "i18n" / lang):
            msgid = message.id[0] if isinstance(message.id, tuple) else message.id
            text = message.string[0] if isinstance(message.string, tuple) else message.string
            if not msgid or not text:
                continue
            first = seen.setdefault((msgid, message.context), (plugin, text))
            if first[1] != text:
                clashes.append(f"{msgid!r}: {first[0]} {first[1]!r} ≠ {plugin} {text!r}")
    assert not clashes, "Messages translated two ways:\n" + "\n".join(sorted(clashes))

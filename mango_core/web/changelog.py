"""The version and its date, and the "what's new" page, read from CHANGELOG.md.

CHANGELOG.md follows keepachangelog: ``## [0.1.0] - 2026-11-27`` starts a release.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import markdown

from mango_core import __version__
from mango_core.resources import resource_path

RELEASE_RE = re.compile(r"^## \[(?P<version>[^\]]+)\] - (?P<date>\d{4}-\d{2}-\d{2})", re.M)


def _text() -> str:
    return resource_path("CHANGELOG.md", repo_relative="CHANGELOG.md").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def release_date(version: str = __version__) -> date | None:
    for m in RELEASE_RE.finditer(_text()):
        if m["version"] == version:
            return date.fromisoformat(m["date"])
    return None


@lru_cache(maxsize=1)
def as_html() -> str:
    body = _text().split("\n## ", 1)
    text = "## " + body[1] if len(body) == 2 else body[0]
    return markdown.markdown(text, extensions=["sane_lists"], output_format="html")

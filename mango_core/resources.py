"""Files shipped beside the package (CHANGELOG, default configuration).

In a wheel they are copied into the package (see pyproject's force-include); in a source
checkout or an editable install they are read from the repository.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_path(name: str, repo_relative: str) -> Path:
    packaged = PACKAGE_DIR / name
    if packaged.exists():
        return packaged
    in_repo = PACKAGE_DIR.parent / repo_relative
    if in_repo.exists():
        return in_repo
    raise FileNotFoundError(f"{name} is neither in the package nor at {in_repo}")

"""Build the gettext catalogues: ``python -m mango_core.web.catalogs [PACKAGE_DIR...]``.

Translations are kept as several ``.po`` files per language, one per area, under
``<package>/i18n/<lang>/*.po`` (so that areas are edited independently). This merges them into
``<package>/translations/<lang>/LC_MESSAGES/messages.mo``, which Flask-Babel reads. The set-up
(``make install``) runs it for the core and for every plugin in the repository.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


class CatalogError(RuntimeError):
    pass


def merged_catalog(lang_dir: Path) -> Catalog:
    catalog = Catalog(locale=lang_dir.name, domain="messages")
    for po_file in sorted(lang_dir.glob("*.po")):
        with po_file.open("rb") as fh:
            part = read_po(fh, locale=lang_dir.name)
        for message in part:
            if not message.id:
                continue
            existing = catalog.get(message.id, message.context)
            if existing is not None and existing.string != message.string:
                raise CatalogError(f"{po_file}: {message.id!r} is translated differently in another file")
            catalog[message.id] = message
    return catalog


def compile_package(package_dir: Path) -> list[Path]:
    written = []
    for lang_dir in sorted((package_dir / "i18n").glob("*/")):
        catalog = merged_catalog(lang_dir)
        out = package_dir / "translations" / lang_dir.name / "LC_MESSAGES" / "messages.mo"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        written.append(out)
    return written


def main(argv: list[str]) -> int:
    targets = [Path(a) for a in argv] or [Path(__file__).resolve().parent.parent]
    for target in targets:
        for out in compile_package(target):
            print(f"compiled {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

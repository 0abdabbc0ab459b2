"""Documents: per-location templates (sandboxed Jinja2 HTML), PDF by WeasyPrint, an immutable archive.

Plugins add kinds through ``mango_document_kinds`` (:class:`mango_core.documents.kinds.DocumentKind`)
and archive what they render through :func:`mango_core.documents.service.generate` or
:func:`mango_core.documents.service.archive`.
"""

"""Document templates (versioned, per location) and the archive of generated documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mango_core.db import Base, TenantMixin, utcnow


class DocumentTemplate(TenantMixin, Base):
    """A location's template for one document kind; its text lives in its versions.

    ``version`` is the current (newest) version; every change of the HTML or CSS adds a
    :class:`DocumentTemplateVersion`, so an archived document always names the exact text it
    was made from. Only active templates are offered for generating.
    """

    __tablename__ = "core_document_template"
    __table_args__ = (UniqueConstraint("location_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    versions: Mapped[list[DocumentTemplateVersion]] = relationship(
        back_populates="template", order_by="DocumentTemplateVersion.version.desc()")

    @property
    def current(self) -> DocumentTemplateVersion:
        return next(v for v in self.versions if v.version == self.version)


class DocumentTemplateVersion(TenantMixin, Base):
    """One version of a template's text, append-only like the archive that refers to it.

    Templates are therefore never deleted, only deactivated.
    """

    __tablename__ = "core_document_template_version"
    __table_args__ = (UniqueConstraint("location_id", "template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("core_document_template.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    css: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="SET NULL"))

    template: Mapped[DocumentTemplate] = relationship(back_populates="versions")


class Document(TenantMixin, Base):
    """A generated document, archived for good: the database refuses UPDATE and DELETE (triggers).

    The PDF is kept in the database (``content``), not in the instance folder: PostgreSQL is the
    one shared state of several web nodes (an instance folder is per machine), the file and its
    record are written in one transaction (no orphan or missing files), one backup holds both,
    and the append-only triggers protect the bytes as well as the record. Documents are tens of
    kilobytes; PostgreSQL keeps ``bytea`` out of line (TOAST), SQLite as a BLOB. The column is
    deferred so that lists never load it. ``sha256`` is checked on every download.
    """

    __tablename__ = "core_document"
    __table_args__ = (
        Index("ix_core_document_customer", "location_id", "customer_id", "id"),
        CheckConstraint("size >= 0", name="size"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("core_customer.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(40))
    # empty for documents a plugin renders without a location template
    template_id: Mapped[int | None] = mapped_column(ForeignKey("core_document_template.id", ondelete="RESTRICT"),
                                                    index=True)
    template_version: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(60), default="application/pdf")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("core_user.id", ondelete="RESTRICT"))

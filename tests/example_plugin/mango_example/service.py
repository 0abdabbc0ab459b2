"""What the page, the job and the command line do with notes (they all go through here)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_example.models import ExampleNote


def add_note(session: Session, text: str, author_id: int | None) -> ExampleNote:
    note = ExampleNote(text=text.strip(), author_id=author_id)
    session.add(note)
    session.flush()
    return note


def latest_notes(session: Session, limit: int) -> list[ExampleNote]:
    return list(session.scalars(select(ExampleNote).order_by(ExampleNote.id.desc()).limit(limit)))


def count_notes(session: Session) -> int:
    """Notes of the locations in scope (the session's tenant guard decides which)."""
    return session.scalar(select(func.count()).select_from(ExampleNote)) or 0

"""Which licensed modules are enabled for a location."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mango_core.tenancy.models import Licence, Location, LocationModule


def enabled_modules(session: Session, location_id: int, on: date | None = None) -> set[str]:
    """Modules switched on for the location whose partner holds a licence valid on ``on``."""
    day = on or date.today()
    rows = session.execute(
        select(LocationModule.module)
        .join(Location, Location.id == LocationModule.location_id)
        .join(Licence, (Licence.partner_id == Location.partner_id) & (Licence.module == LocationModule.module))
        .where(
            LocationModule.location_id == location_id,
            Licence.valid_from <= day,
            (Licence.valid_until.is_(None)) | (Licence.valid_until >= day),
        )
    ).scalars()
    return set(rows)

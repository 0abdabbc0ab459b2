"""Rating the next batches of a billing run in a second process while the issuer issues.

A batch is rated (reads and Python) and then issued (numbers, COPYs, the plugins' reactions,
commit); both are mostly Python, so one process keeps one of the machine's cores busy. For a large
run the issuer starts ``python -m mango_billing.run_ahead``: it rates the batches in order on its
own connection and hands their drafts over a pipe (pickled; the child is ours), one batch ahead —
the pipe blocks it until the issuer takes the next batch. Should the process fail, the run goes on
rating the remaining batches itself (``run._rated``).

The child reads outside the series' number lock, so the issuer checks each batch under the lock
before it uses the drafts (:func:`stale`): a recurring line committed since the child's reads for
one of the batch's services means another issuer billed it meanwhile, and the batch is rated again
under the lock as before. Customers that a concurrent run of the month invoiced meanwhile are
dropped by the issuer as before, and charges or usage taken by someone else make the issue fail
and the batch be rated again (``mark_used``). The batch being issued does not change what the
child reads for the next one: batches hold disjoint billed customers, each with its own services,
charges and usage.
"""

from __future__ import annotations

import gc
import pickle
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mango_billing.invoices import Draft, in_ids
from mango_billing.models import Invoice, InvoiceLine

FRAME = struct.Struct("!I")  # length of the pickled frame that follows


class RatingAheadError(RuntimeError):
    """The rating process failed or ended early (its error output says why)."""


@dataclass
class Rated:
    """One batch rated ahead: its drafts and the newest invoice id committed before its reads."""

    batch: list[int]
    drafts: list[Draft]
    seen_up_to: int


@dataclass
class Job:
    """What the rating process needs: the run's facts, computed once by the issuer."""

    url: str
    models: list[str]  # the modules of every mapped class the issuer knows (relationships name each other)
    scope: Any  # the issuer's TenantScope
    location_id: int
    run_start: date
    run_end: date
    batches: list[list[int]]
    billed: dict[int, int]
    members_of: dict[int, list[int]]


def model_modules() -> list[str]:
    from mango_core.db import Base

    return sorted({mapper.class_.__module__ for mapper in Base.registry.mappers})


def stale(session: Session, rated: Rated) -> bool:
    """Did another issuer bill one of the drafts' services after the drafts were rated?

    Called under the series' lock. Issuers take invoice ids under that lock, so an invoice committed
    after the reads has an id above ``seen_up_to`` (the run's own earlier batches bill other services).
    """
    services = {line.service_id for draft in rated.drafts for line in draft.lines
                if line.kind == "recurring" and line.service_id is not None}
    if not services:
        return False
    hit = session.scalar(select(InvoiceLine.id).where(in_ids(session, InvoiceLine.service_id, services),
                                                      InvoiceLine.kind == "recurring",
                                                      InvoiceLine.invoice_id > rated.seen_up_to).limit(1))
    return hit is not None


# --- the issuer's side -----------------------------------------------------------------------------


def _write(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def _read(stream: IO[bytes]) -> Any:
    head = stream.read(FRAME.size)
    if len(head) < FRAME.size:
        raise EOFError
    size, = FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - our own child process, over its own pipe


def rated_batches(session: Session, job: Job) -> Iterator[Rated]:
    """The job's batches rated by a child process, in order; the child is stopped when this ends."""
    errors = tempfile.TemporaryFile()  # a file, not a pipe: a chatty child must never block on it
    child = subprocess.Popen([sys.executable, "-m", "mango_billing.run_ahead"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=errors)
    try:
        _write(child.stdin, job)
        child.stdin.close()
        for _batch in job.batches:
            try:
                item = _read(child.stdout)
            except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, ImportError) as exc:
                raise RatingAheadError(f"the billing run's rating process answered garbage ({exc})") from None
            except EOFError:
                child.wait()
                errors.seek(0)
                error = errors.read().decode(errors="replace").strip().splitlines()
                raise RatingAheadError("the billing run's rating process ended early (exit code "
                                       f"{child.returncode}): {error[-1] if error else 'no error output'}") from None
            if isinstance(item, str):
                raise RatingAheadError(f"the billing run's rating process failed: {item}")
            yield item
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout, errors):
            if not stream.closed:
                stream.close()


# --- the rating process ----------------------------------------------------------------------------


def serve(source: IO[bytes], sink: IO[bytes]) -> None:
    """Read a :class:`Job`, write a :class:`Rated` per batch (or the error's text, then stop)."""
    import importlib
    import traceback

    from mango_billing.run import compute_batch, load_catalog
    from mango_core.db.bulk import paused_gc
    from mango_core.db.session import Database
    from mango_core.tenancy.context import use_scope
    from mango_core.tenancy.models import Location

    job: Job = _read(source)
    for module in job.models:
        importlib.import_module(module)
    db = Database(job.url)
    try:
        with paused_gc(), use_scope(job.scope), db.session() as reader:
            catalog = load_catalog(reader)
            location = reader.get(Location, job.location_id)
            for batch in job.batches:
                gc.collect(1)  # as the issuer does (run_billing)
                seen_up_to = reader.scalar(select(func.coalesce(func.max(Invoice.id), 0)))
                drafts = compute_batch(reader, catalog, location, job.run_start, job.run_end, batch, job.billed,
                                       job.members_of)
                # end the read transaction; a commit (of nothing) keeps the catalog and location loaded,
                # a rollback would expire them and every batch would load them again
                reader.commit()
                _write(sink, Rated(batch, drafts, seen_up_to))
    except BrokenPipeError:
        return  # the issuer stopped (it failed, or has all it needs)
    except Exception as exc:  # noqa: BLE001 - reported to the issuer, which raises it
        traceback.print_exc()
        _write(sink, f"{type(exc).__name__}: {exc}")
    finally:
        db.dispose()


if __name__ == "__main__":
    # through the module's own name, so that what it pickles is found by that name in the issuer
    import os

    from mango_billing import run_ahead

    # the pipe gets only frames: whatever else is printed (a library's notice) goes to the error output
    frames = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    run_ahead.serve(sys.stdin.buffer, frames)

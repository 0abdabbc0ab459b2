"""Import of bank statements: idempotent, atomic, and fast enough for 50,000 lines.

How a file becomes payments (one transaction; the caller commits):

1. The raw file is kept once per location (``StatementFile``, unique sha256): the same file again
   is answered "all duplicates" without parsing it a second time.
2. Each movement becomes a ``Payment`` whose ``dedup_key`` is ``<account>#<bank id>`` when the bank
   gives a movement id, else the movement's fingerprint (the n-th equal fingerprint in one file
   gets ``:n``, so two genuinely identical payments on a day both count). ``(location, dedup_key)``
   is unique, so an overlapping statement never creates a payment twice — even two imports
   racing each other: the loser's transaction fails on the constraint and its re-run finds the keys.
3. New incoming movements are matched in memory (:mod:`.matching`, one query per rule for all symbols)
   and the matched ones booked in the ledger (kind ``payment``, or ``topup`` in the ``prepaid``
   account): on PostgreSQL with one ``COPY`` of the payments and one of their ledger entries
   (:func:`copy_statement`), elsewhere with executemany INSERTs and one INSERT … SELECT; then
   ``mango_payments_matched`` is emitted once for the batch.

Decisions:

- **Outgoing movements** (negative, not a storno) are stored for completeness and de-duplication
  with state ``ignored``: most are supplier payments, not customer money. A refund to a customer is
  booked when it is decided (pairing screen "refund", or :func:`service.refund`); an outgoing
  movement may still be paired to a customer by hand, which books it as kind ``refund``.
- **Stornos** (``reversal``): the movement is matched to the payment it cancels — same account side,
  the opposite amount, the same variable symbol or counter account, not yet reversed, the newest
  first. A matched original gives the storno the same customer and a ``reversal`` ledger entry of
  the storno's (opposite) amount; an unmatched original and its storno are both set ``ignored``
  (they cancel out); no original found → the storno waits on the pairing screen.
- **Atomic**: nothing is committed before the whole file is stored, so a process killed mid-import
  leaves nothing, and the re-run imports every movement exactly once.
- Payments in a currency other than the location's are stored unmatched (converting is a person's call).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import psycopg
import psycopg.errors
from sqlalchemy import Integer, case, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mango_billing.bank import BankStatement, StatementError, parse_statement
from mango_billing.bank import fio as fio_parser
from mango_billing.bank.statement import BankMovement, normalize_account
from mango_billing.models import LedgerEntry, Payment, StatementFile
from mango_billing.payments.matching import (
    PREPAID,
    RECEIVABLE,
    STAMPED,
    SymbolIndex,
    emit_matched,
    insert_ledger,
    ledger_kind,
)
from mango_billing.payments.models import PaymentEvent
from mango_core.db import set_references, utcnow
from mango_core.db.bulk import among, chunks, on_postgres, paused_gc, text_array
from mango_core.tenancy.context import location_scope
from mango_core.tenancy.models import BankAccount, Location

INSERT_BATCH = 5000
RANGE_LOOKUP_FROM = 1000  # statements from this many lines look their stored keys up as one range first
Progress = Callable[[int, int], None]


class PaymentImportError(StatementError):
    """The statement is readable but cannot be imported here (wrong account, …); nothing was stored."""


@dataclass(frozen=True)
class ImportSummary:
    new: int
    duplicates: int
    matched: int
    unmatched: int
    statement_id: int | None

    def as_json(self) -> str:
        """Exactly the four counters (the CLI's ``--json`` output)."""
        data = asdict(self)
        return json.dumps({k: data[k] for k in ("new", "duplicates", "matched", "unmatched")})


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:limit] or None


def _account_forms(account: BankAccount) -> set[str]:
    forms = set()
    for value in (account.account_number, account.iban):
        if value:
            try:
                normalized = normalize_account(value, where="bank account")
            except StatementError:
                normalized = None
            if normalized:
                forms.add(normalized)
    return forms


def resolve_bank_account(session: Session, statement_account: str, bank_account: BankAccount | int | None
                         ) -> BankAccount:
    """The location's bank account the statement belongs to; PaymentImportError when there is none."""
    if bank_account is not None:
        account_id = bank_account if isinstance(bank_account, int) else bank_account.id
        found = session.get(BankAccount, account_id)
        # session.get bypasses nothing: the tenant guard filters it to the current location
        if found is None or found.location_id != session.info.get("mango_import_location"):
            raise PaymentImportError(f"bank account #{account_id} is not an account of this location")
        return found
    accounts = list(session.scalars(select(BankAccount)))
    for account in accounts:
        if statement_account in _account_forms(account):
            return account
    if "/" not in statement_account:
        # GPC carries no bank code of the own account: the number alone decides when it is unique
        same = [a for a in accounts if statement_account in {f.split("/")[0] for f in _account_forms(a)}]
        if len(same) == 1:
            return same[0]
    known = ", ".join(sorted(f for a in accounts for f in _account_forms(a))) or "none"
    raise PaymentImportError(
        f"the statement is for account {statement_account}, which is not a bank account of this location "
        f"(its accounts: {known}); add the account to the location or choose it explicitly")


def _single_fio_transaction(data: bytes, account: BankAccount) -> BankStatement | None:
    """A lone Fio ``transaction`` object (as the API documentation shows one) as a one-line statement.

    It carries no account, so it is accepted only with an explicitly chosen bank account.
    """
    try:
        doc = json.loads(bytes(data).decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or "column22" not in doc or "column1" not in doc:
        return None
    currency = "CZK"
    column = doc.get("column14")
    if isinstance(column, dict) and isinstance(column.get("value"), str):
        currency = column["value"]
    movement = fio_parser.parse_transaction(doc, currency=currency)
    own = normalize_account(account.account_number or account.iban, where="bank account")
    return BankStatement(format="fio-json", account=own or "", currency=currency, number=None,
                         period_from=movement.booked, period_to=movement.booked, opening_balance=None,
                         closing_balance=None, movements=(movement,))


def dedup_keys(statement: BankStatement) -> list[str]:
    keys: list[str] = []
    seen: dict[str, int] = {}
    for m in statement.movements:
        if m.bank_id:
            key = f"{statement.account}#{m.bank_id}"
            if len(key) > 100:
                key = "h#" + hashlib.sha256(key.encode()).hexdigest()
        else:
            key = m.fingerprint(statement.account)
        n = seen.get(key, 0) + 1
        seen[key] = n
        keys.append(key if n == 1 else f"{key}:{n}")
    return keys


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    """The keys of ``keys`` that are stored already (in the current location)."""
    stored = _keys_in_range(session, keys)
    if stored is not None:
        return stored
    found: set[str] = set()
    for criterion, _part in among(session, Payment.dedup_key, keys):
        found.update(session.scalars(select(Payment.dedup_key).where(criterion)))
    return found


def _keys_in_range(session: Session, keys: list[str]) -> set[str] | None:
    """PostgreSQL, large statements: the stored keys between the smallest and the largest of ``keys``.

    Banks number their movements upwards, so the keys of a new statement mostly lie beyond every stored
    key of its account: one index range, usually short, instead of one index look-up per key (0.2 s of a
    50,000-line import). The bounds are taken in SQL, in the index's own collation. None when the range
    holds more than twice as many keys as the statement (fingerprint keys spread over the whole index):
    the caller looks each key up then.
    """
    if len(keys) < RANGE_LOOKUP_FROM or not on_postgres(session):
        return None
    array = text_array(keys)
    if array is None:
        return None
    given = select(func.unnest(array).label("key")).cte("given")
    lowest = select(func.min(given.c.key)).scalar_subquery()
    highest = select(func.max(given.c.key)).scalar_subquery()
    limit = 2 * len(keys)
    inside = list(session.scalars(select(Payment.dedup_key).where(Payment.dedup_key.between(lowest, highest))
                                  .limit(limit + 1)))
    if len(inside) > limit:
        return None
    return set(inside).intersection(keys)


def import_statement(session: Session, location_id: int, data: bytes, filename: str, fmt: str | None = None,
                     bank_account: BankAccount | int | None = None, actor_id: int | None = None, *,
                     check_totals: bool | None = None, progress: Progress | None = None) -> ImportSummary:
    """Import one statement file into ``location_id`` (see the module doc); the caller commits.

    Bad files raise :class:`StatementError` (a :class:`PaymentImportError` when the file is fine but does
    not belong here) before anything is written; the caller rolls back on any error.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise StatementError(f"a statement file is bytes, not {type(data).__name__}")
    data = bytes(data)
    # a large statement makes 50,000 movements and as many rows that all live until the end
    with paused_gc(), location_scope(location_id):
        session.info["mango_import_location"] = location_id
        try:
            return _import(session, location_id, data, filename, fmt, bank_account, actor_id, check_totals,
                           progress)
        finally:
            session.info.pop("mango_import_location", None)


def _parse(session: Session, data: bytes, fmt: str | None, bank_account: BankAccount | int | None,
           check_totals: bool | None) -> tuple[BankStatement, BankAccount]:
    options = {} if check_totals is None else {"check_totals": check_totals}
    try:
        statement = parse_statement(data, fmt, **options)
    except StatementError as exc:
        if bank_account is None or fmt not in (None, "fio-json") or "accountStatement" not in str(exc):
            raise
        account = resolve_bank_account(session, "", bank_account)
        single = _single_fio_transaction(data, account)
        if single is None:
            raise
        return single, account
    if not statement.movements:
        raise StatementError("the statement holds no movements; nothing to import")
    return statement, resolve_bank_account(session, statement.account, bank_account)


def _import(session: Session, location_id: int, data: bytes, filename: str, fmt: str | None,
            bank_account: BankAccount | int | None, actor_id: int | None, check_totals: bool | None,
            progress: Progress | None) -> ImportSummary:
    sha = hashlib.sha256(data).hexdigest()
    known = session.execute(select(StatementFile.id, StatementFile.movements)
                            .where(StatementFile.sha256 == sha)).first()
    if known is not None:
        return ImportSummary(0, known.movements, 0, 0, known.id)
    statement, account = _parse(session, data, fmt, bank_account, check_totals)
    location_currency = session.scalar(select(Location.currency).where(Location.id == location_id)) or "CZK"
    movements = statement.movements
    total = len(movements)
    keys = dedup_keys(statement)
    existing = _existing_keys(session, keys)
    fresh = [(k, m) for k, m in zip(keys, movements, strict=True) if k not in existing]

    stored = StatementFile(bank_account_id=account.id, format=statement.format, filename=(filename or "")[:200],
                           sha256=sha, content=data, account=statement.account[:40],
                           statement_number=(statement.number or None) and statement.number[:20],
                           period_from=statement.period_from, period_to=statement.period_to,
                           movements=total, new=len(fresh), duplicates=total - len(fresh),
                           imported_by_id=actor_id)
    session.add(stored)
    session.flush()

    index = SymbolIndex.load(session, {m.variable_symbol for _k, m in fresh if m.amount > 0 and not m.reversal})
    # what each symbol of the statement resolves to (rules of SymbolIndex.match), once per distinct symbol
    symbols = index.resolve({m.variable_symbol for _k, m in fresh})
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        store = copy_statement
    else:
        store = insert_statement
    matched_ids, unmatched, has_reversals = store(session, location_id, fresh, symbols, location_currency,
                                                  stored.id, account.id, actor_id, now, progress)
    if has_reversals:
        reversal_ids = list(session.scalars(select(Payment.id).where(Payment.statement_id == stored.id,
                                                                     Payment.reversal.is_(True))
                                            .order_by(Payment.id)))
        matched_ids.extend(settle_reversals(session, location_id, reversal_ids, actor_id))
        # settling may set originals of this very statement "ignored": count in the database
        unmatched = int(session.scalar(select(_count()).select_from(Payment).where(
            Payment.statement_id == stored.id, Payment.state == "unmatched")) or 0)
    matched = len(matched_ids)
    emit_matched(session, location_id, matched_ids)
    return ImportSummary(len(fresh), total - len(fresh), matched, unmatched, stored.id)


# The columns of billing_payment the importer writes, in the order of the rows it builds.
PAYMENT_COLUMNS = (
    "id", "location_id", "dedup_key", "method", "received_on", "amount", "currency", "variable_symbol",
    "constant_symbol", "specific_symbol", "counter_account", "counter_name", "message", "reversal", "state",
    "customer_id", "target", "statement_id", "bank_account_id", "raw", "created_at", "created_by_id",
    "matched_at", "matched_by_id",
)
LEDGER_COLUMNS = ("location_id", "customer_id", "account", "kind", "booked_on", "amount", "payment_id", "note",
                  "created_at", "created_by_id")
_RACE = ("another import stored some of these movements at the same moment; nothing of this file was stored, "
         "import it again (the movements stored by the other import will count as duplicates)")
Fresh = list[tuple[str, BankMovement]]
Stored = tuple[list[int], int, bool]  # matched payment ids, unmatched count, reversals present


def _payment_tuples(location_id: int, fresh: Fresh, ids: list[int] | None, symbols: dict[str, tuple[int, str]],
                    location_currency: str, statement_id: int, account_id: int, actor_id: int | None, now: Any
                    ) -> tuple[list[tuple], list[tuple], Stored]:
    """Payment rows (``PAYMENT_COLUMNS``; ``id`` None when ``ids`` is None) and ledger rows of the matched ones.

    The matching rules of :class:`SymbolIndex` applied to every movement: a storno waits for
    :func:`settle_reversals`, an outgoing movement is ``ignored``, an incoming one in the location's currency
    is matched when its symbol resolves. One tuple per row and no per-row function calls: this loop runs
    50,000 times per large statement.
    """
    payments: list[tuple] = []
    ledger: list[tuple] = []
    matched: list[int] = []
    unmatched = 0
    has_reversals = False
    add_payment, add_entry, lookup = payments.append, ledger.append, symbols.get
    for n, (key, m) in enumerate(fresh):
        pid = ids[n] if ids is not None else None
        customer_id = matched_at = None
        target = RECEIVABLE
        amount = m.amount
        if m.reversal:
            state = "unmatched"  # settled after the insert, when originals have ids
            has_reversals = True
        elif amount < 0:
            state = "ignored"
        elif m.currency == location_currency and (hit := lookup(m.variable_symbol)) is not None:
            state = "matched"
            customer_id, target = hit
            matched_at = now
            if pid is not None:
                vs = m.variable_symbol
                # ledger_kind() of an incoming (amount >= 0) non-storno payment
                add_entry((location_id, customer_id, target, "topup" if target == PREPAID else "payment", m.booked,
                           amount, pid, f"VS {vs}" if vs else None, now, actor_id))
                matched.append(pid)
        else:
            state = "unmatched"
        if state == "unmatched":
            unmatched += 1
        name, message, counter = m.counter_name, m.message, m.counter_account
        add_payment((pid, location_id, key, "bank", m.booked, amount, m.currency[:3], m.variable_symbol,
                     m.constant_symbol, m.specific_symbol, _text(counter, 50) if counter else None,
                     _text(name, 200) if name else None, _text(message, 300) if message else None, m.reversal,
                     state, customer_id, target, statement_id, account_id, m.raw or None, now, actor_id,
                     matched_at, None))
    return payments, ledger, (matched, unmatched, has_reversals)


def copy_statement(session: Session, location_id: int, fresh: Fresh, symbols: dict[str, tuple[int, str]],
                   location_currency: str, statement_id: int, account_id: int, actor_id: int | None, now: Any,
                   progress: Progress | None) -> Stored:
    """PostgreSQL: payments and their ledger entries with two ``COPY … FROM STDIN`` in the session's transaction.

    Measured on 50,000 lines: the database's own work (foreign-key checks and index entries per row) is the
    larger part, so the client sends the least it can: the payment ids are taken from the table's sequence in
    one query (in file order), which lets the ledger rows be sent right after the payments instead of reading
    the payments back. COPY bypasses the ORM's tenant guard, so every row is stamped with ``location_id`` here
    and checked against the import's scope. The (location, dedup_key) constraint still refuses a movement a
    concurrent import stored first: that import's transaction fails and its re-run finds the keys.
    """
    if location_id != session.info.get("mango_import_location"):
        raise PaymentImportError("internal error: rows of another location")  # pragma: no cover
    if not fresh:
        return [], 0, False
    # the sequence by its name as a literal: a name given as a parameter is looked up again for every row
    sequence = session.scalar(text("SELECT pg_get_serial_sequence('billing_payment', 'id')"))
    if not sequence:
        raise PaymentImportError("billing_payment.id has no sequence; is the database migrated?")
    listed = session.scalar(text(f"SELECT string_agg(CAST(nextval('{sequence.replace(chr(39), chr(39) * 2)}') "
                                 "AS text), ',') FROM generate_series(1, :n)"), {"n": len(fresh)})
    ids = sorted(map(int, listed.split(",")))
    payments, ledger, stored = _payment_tuples(location_id, fresh, ids, symbols, location_currency,
                                               statement_id, account_id, actor_id, now)
    cursor = session.connection().connection.driver_connection.cursor()
    try:
        set_references.room_for(cursor, len(payments))
        # rows stream to the server while later ones are formatted; it checks and indexes them meanwhile
        with cursor.copy(f"COPY billing_payment ({', '.join(PAYMENT_COLUMNS)}) FROM STDIN") as copy:
            write = copy.write_row
            for start in range(0, len(payments), INSERT_BATCH):
                for row in payments[start:start + INSERT_BATCH]:
                    write(row)
                if progress:
                    progress(min(start + INSERT_BATCH, len(payments)), len(payments))
        if ledger:
            with cursor.copy(f"COPY billing_ledger ({', '.join(LEDGER_COLUMNS)}) FROM STDIN") as copy:
                write = copy.write_row
                for row in ledger:
                    write(row)
    except psycopg.errors.UniqueViolation as exc:
        if "dedup_key" not in (exc.diag.constraint_name or ""):
            raise
        raise PaymentImportError(_RACE) from None
    except psycopg.DataError as exc:
        # e.g. a NUL character in a name or message (a JSON statement can carry one): PostgreSQL text cannot
        raise PaymentImportError(f"a movement holds a value the database cannot store: {exc}") from None
    finally:
        cursor.close()
    return stored


def insert_statement(session: Session, location_id: int, fresh: Fresh, symbols: dict[str, tuple[int, str]],
                     location_currency: str, statement_id: int, account_id: int, actor_id: int | None, now: Any,
                     progress: Progress | None) -> Stored:
    """Other databases (SQLite): executemany INSERTs of the payments, the ledger in one INSERT … SELECT."""
    payments, _ledger, (_none, unmatched, has_reversals) = _payment_tuples(
        location_id, fresh, None, symbols, location_currency, statement_id, account_id, actor_id, now)
    columns = PAYMENT_COLUMNS[1:]
    done = 0
    for part in chunks(payments, INSERT_BATCH):
        try:
            session.execute(insert(Payment).execution_options(**STAMPED),
                            [dict(zip(columns, row[1:], strict=True)) for row in part])
        except IntegrityError as exc:
            if "dedup_key" not in str(exc.orig):
                raise
            raise PaymentImportError(_RACE) from None
        done += len(part)
        if progress:
            progress(done, len(payments))
    book_statement(session, location_id, statement_id, actor_id)
    matched = list(session.scalars(select(Payment.id).where(Payment.statement_id == statement_id,
                                                            Payment.state == "matched").order_by(Payment.id)))
    return matched, unmatched, has_reversals


def book_statement(session: Session, location_id: int, statement_id: int, actor_id: int | None) -> None:
    """Ledger entries of the statement's matched payments (kinds as :func:`matching.ledger_kind`)."""
    kind = case((Payment.target == "prepaid", case((Payment.amount >= 0, "topup"), else_="return")),
                else_=case((Payment.amount >= 0, "payment"), else_="refund"))
    note = case((Payment.variable_symbol.is_not(None), literal("VS ") + Payment.variable_symbol), else_=None)
    source = select(Payment.location_id, Payment.customer_id, Payment.target, kind, Payment.received_on,
                    Payment.amount, Payment.id, note, Payment.created_at,
                    literal(actor_id, Integer)).where(
        Payment.location_id == location_id, Payment.statement_id == statement_id, Payment.state == "matched",
        Payment.reversal.is_(False))
    session.execute(insert(LedgerEntry).from_select(
        ["location_id", "customer_id", "account", "kind", "booked_on", "amount", "payment_id", "note",
         "created_at", "created_by_id"], source).execution_options(**STAMPED))


def _count():  # noqa: ANN202
    return func.count()


def settle_reversals(session: Session, location_id: int, reversal_ids: list[int], actor_id: int | None
                     ) -> list[int]:
    """Pair each storno with the payment it cancels (module doc); returns the ids newly matched."""
    matched: list[int] = []
    for rid in reversal_ids:
        storno = session.get(Payment, rid)
        if storno is None or storno.state != "unmatched":
            continue
        original = find_original(session, storno)
        if original is None:
            continue
        if original.state == "matched" and original.customer_id is not None:
            storno.customer_id = original.customer_id
            storno.target = original.target
            storno.state = "matched"
            storno.matched_at = utcnow()
            session.flush()
            insert_ledger(session, [{
                "location_id": location_id, "customer_id": original.customer_id, "account": original.target,
                "kind": ledger_kind(storno.amount, original.target, True), "booked_on": storno.received_on,
                "amount": storno.amount, "payment_id": storno.id, "note": f"storno of payment #{original.id}",
                "created_at": utcnow(), "created_by_id": actor_id}])
            matched.append(storno.id)
        else:
            original.state = storno.state = "ignored"
        session.add(PaymentEvent(payment_id=original.id, action="reversed", customer_id=original.customer_id,
                                 user_id=actor_id, detail=f"storno payment #{storno.id}"))
        session.add(PaymentEvent(payment_id=storno.id, action="reversed", customer_id=original.customer_id,
                                 user_id=actor_id, detail=f"cancels payment #{original.id}"))
        session.flush()
    return matched


def find_original(session: Session, storno: Payment) -> Payment | None:
    """The newest not yet reversed payment that ``storno`` cancels, or None."""
    reversed_ids = select(PaymentEvent.payment_id).where(PaymentEvent.action == "reversed")
    query = (select(Payment).where(Payment.amount == -storno.amount, Payment.reversal.is_(False),
                                   Payment.received_on <= storno.received_on, Payment.id != storno.id,
                                   Payment.id.not_in(reversed_ids))
             .order_by(Payment.received_on.desc(), Payment.id.desc()).limit(1))
    if storno.bank_account_id is not None:
        query = query.where(Payment.bank_account_id == storno.bank_account_id)
    if storno.variable_symbol:
        query = query.where(Payment.variable_symbol == storno.variable_symbol)
    elif storno.counter_account:
        query = query.where(Payment.counter_account == storno.counter_account)
    else:
        return None  # nothing to tell which payment it cancels: a person decides
    return session.scalar(query)

"""The SLA business-hours calendar: Czech public holidays (Easter computed), working-time arithmetic (hypothesis
properties and examples around weekends, holidays, staff's closed days and DST changes), SLA due dates per
priority clock, the pause while a ticket waits for the customer, and the settings page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mango_callcenter.helpdesk import business_hours as bh
from mango_callcenter.helpdesk import service as helpdesk
from mango_callcenter.helpdesk import sla
from mango_callcenter.helpdesk.models import BusinessHours, ClosedDay, Sla
from mango_core.tenancy import location_scope
from mango_core.tenancy.validators import InvalidValue
from mango_core.testing.fixtures import login, post

PRAGUE = ZoneInfo("Europe/Prague")
H = 3600


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=PRAGUE).astimezone(UTC)


def office(**kw) -> bh.Calendar:  # noqa: ANN003
    return bh.Calendar(zone=PRAGUE, hours=dict(bh.DEFAULT_HOURS), **kw)


# --- holidays ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("year", "easter"), [(2000, date(2000, 4, 23)), (2015, date(2015, 4, 5)),
                                              (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
                                              (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)),
                                              (2038, date(2038, 4, 25))])
def test_easter_sunday(year, easter):
    assert bh.easter_sunday(year) == easter


def test_czech_public_holidays():
    days = bh.czech_holidays(2026)
    assert len(days) == 13
    assert {date(2026, 4, 3), date(2026, 4, 6), date(2026, 7, 5), date(2026, 11, 17), date(2026, 12, 24)} <= days
    assert date(2015, 4, 3) not in bh.czech_holidays(2015)  # Good Friday is a holiday since 2016
    assert date(2015, 4, 6) in bh.czech_holidays(2015)
    assert bh.public_holidays("SK", 2026) == set()
    assert bh.upcoming_holidays("CZ", date(2026, 12, 25), 3) == [date(2026, 12, 25), date(2026, 12, 26),
                                                                 date(2027, 1, 1)]


# --- properties ----------------------------------------------------------------------------------------

ZONES = ["Europe/Prague", "UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]


@st.composite
def calendars(draw) -> bh.Calendar:  # noqa: ANN001
    days = draw(st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True))
    hours = {}
    for day in days:  # on the half hour (and so often at midnight and on DST changes) to hit the edges
        opens = draw(st.integers(0, 46)) * 30
        hours[day] = (opens, draw(st.integers(opens // 30 + 2, 48)) * 30)
    closed = draw(st.frozensets(st.dates(date(2025, 1, 1), date(2027, 12, 31)), max_size=20))
    return bh.Calendar(zone=ZoneInfo(draw(st.sampled_from(ZONES))), hours=hours, closed=closed,
                       country=draw(st.sampled_from(["CZ", ""])))


starts = st.one_of(
    st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)).map(lambda d: d.replace(tzinfo=UTC)),
    st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)).map(
        lambda d: d.replace(minute=d.minute // 30 * 30, second=0, microsecond=0, tzinfo=UTC)))
hours_st = st.one_of(st.just(0), st.integers(0, 80))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(calendars(), starts, hours_st)
def test_due_is_not_before_the_start_and_lies_in_working_time(calendar, start, hours):
    due = calendar.add(start, hours * H)
    assert due >= start
    assert calendar.is_working_time(due)
    assert calendar.working_seconds(start, due) == hours * H  # exactly the hours asked for, in working time


@FAST
@given(calendars(), starts, hours_st, hours_st)
def test_adding_twice_is_adding_the_sum(calendar, start, h1, h2):
    assert calendar.add(calendar.add(start, h1 * H), h2 * H) == calendar.add(start, (h1 + h2) * H)


@FAST
@given(starts, hours_st)
def test_around_the_clock_is_plain_elapsed_time(start, hours):
    assert bh.ALWAYS.add(start, hours * H) == start + timedelta(hours=hours)
    assert bh.ALWAYS.working_seconds(start, start + timedelta(hours=hours)) == hours * H


# --- examples ------------------------------------------------------------------------------------------


def test_a_weekend_and_nights_are_skipped():
    calendar = office()
    friday = local(2026, 3, 6, 15, 0)
    assert calendar.add(friday, 8 * H) == local(2026, 3, 9, 15, 0)  # 1 h on Friday, 7 h on Monday
    assert calendar.add(local(2026, 3, 7, 10, 0), 0) == local(2026, 3, 9, 8, 0)  # Saturday: Monday's opening
    assert calendar.add(local(2026, 3, 9, 15, 0), 1 * H) == local(2026, 3, 9, 16, 0)  # due at closing, same day
    assert calendar.working_seconds(local(2026, 3, 6, 12, 0), local(2026, 3, 9, 9, 0)) == 5 * H


def test_a_due_date_at_midnight_closing_stays_there():
    evenings = bh.Calendar(zone=PRAGUE, hours={0: (20 * 60, 1440), 2: (20 * 60, 1440)})
    monday = local(2026, 3, 2, 20, 0)
    due = evenings.add(monday, 4 * H)
    assert due == local(2026, 3, 3, 0, 0) and evenings.is_working_time(due)
    assert evenings.add(due, 0) == due and evenings.add(due, 1 * H) == local(2026, 3, 4, 21, 0)


def test_easter_and_staff_closed_days_are_skipped():
    calendar = office(closed=frozenset({date(2026, 4, 8)}))
    thursday = local(2026, 4, 2, 15, 0)  # Good Friday 3 April, Easter Monday 6 April, closed Wednesday 8 April
    assert calendar.add(thursday, 9 * H) == local(2026, 4, 7, 16, 0)
    assert calendar.add(thursday, 10 * H) == local(2026, 4, 9, 9, 0)
    assert office(country="SK").add(thursday, 9 * H) == local(2026, 4, 3, 16, 0)  # no Czech holidays there


def test_local_hours_hold_across_the_dst_changes():
    calendar = office()
    # spring: Friday 27 March 15:00 CET (14:00 UTC) + 2 h → Monday 30 March 9:00 CEST (7:00 UTC)
    assert calendar.add(datetime(2026, 3, 27, 14, 0, tzinfo=UTC), 2 * H) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    # autumn: Friday 23 October 15:00 CEST (13:00 UTC) + 2 h → Monday 26 October 9:00 CET (8:00 UTC)
    assert calendar.add(datetime(2026, 10, 23, 13, 0, tzinfo=UTC), 2 * H) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_a_whole_day_calendar_counts_real_hours_on_dst_days():
    nonstop = bh.Calendar(zone=PRAGUE, hours={d: (0, 1440) for d in range(7)})
    spring = local(2026, 3, 29, 0, 0)  # the day has 23 hours
    assert nonstop.working_seconds(spring, local(2026, 3, 30, 0, 0)) == 23 * H
    assert nonstop.add(spring, 24 * H) == spring + timedelta(hours=24) == local(2026, 3, 30, 1, 0)
    autumn = local(2026, 10, 25, 0, 0)  # 25 hours
    assert nonstop.working_seconds(autumn, local(2026, 10, 26, 0, 0)) == 25 * H
    # hours inside the spring gap (2:30–3:15 does not exist that night) give no working time that day
    gap = bh.Calendar(zone=PRAGUE, hours={6: (150, 195)})
    assert gap.window(date(2026, 3, 29)) is None and gap.window(date(2026, 4, 5)) is not None


# --- SLA due dates and the pause ---------------------------------------------------------------------------


@pytest.fixture
def staff(world):  # noqa: ANN001, ANN201
    return helpdesk.Actor(user_id=world.admin_a.id)


def test_a_business_hours_priority_counts_in_the_locations_calendar(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        sla.save_sla(db, "normal", response_hours="6", resolution_hours="16", clock="business")
        sla.save_sla(db, "normal", response_hours="8", resolution_hours="16")  # no clock given: kept
        assert sla.clocks(db) == {"low": "24x7", "normal": "business", "high": "24x7", "urgent": "24x7"}
        bh.add_closed_day(db, "2026-03-10", "Firemní akce")
        created = local(2026, 3, 6, 15, 0)  # a Friday afternoon
        ticket = helpdesk.create_ticket(db, subject="Pomalé", body="?", actor=staff, customer_id=customer_a.id,
                                        now=created)
        assert ticket.response_due_at == local(2026, 3, 9, 15, 0)
        assert ticket.resolution_due_at == local(2026, 3, 11, 15, 0)  # Tuesday 10 March is closed
        urgent = helpdesk.create_ticket(db, subject="Výpadek", body="!", actor=staff, customer_id=customer_a.id,
                                        priority="urgent", now=created)  # urgent stays 24/7
        assert urgent.resolution_due_at == created + timedelta(hours=8)
        with pytest.raises(InvalidValue) as exc:
            sla.save_sla(db, "low", response_hours="1", resolution_hours="2", clock="weekdays")
        assert exc.value.field == "low_clock"
        db.commit()
    with in_loc(world.loc_b):  # another location: its own (default) calendar and 24/7
        assert sla.clocks(db)["normal"] == "24x7" and bh.closed_days(db) == []


def test_the_resolution_clock_pauses_while_waiting_for_the_customer(db, world, in_loc, customer_a, staff):
    customer = helpdesk.Actor(customer_id=customer_a.id)
    t0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with in_loc(world.loc_a):
        ticket = helpdesk.create_ticket(db, subject="Dotaz", body="?", actor=staff, customer_id=customer_a.id, now=t0)
        assert ticket.resolution_due_at == t0 + timedelta(hours=48)
        helpdesk.reply(db, ticket, "Pošlete foto?", staff, now=t0 + timedelta(hours=1))
        assert ticket.state == "waiting" and ticket.waiting_since == t0 + timedelta(hours=1)
        # not overdue while the clock is paused, even past the old due date
        late = t0 + timedelta(hours=60)
        assert not helpdesk.is_overdue(ticket, late)
        assert helpdesk.list_tickets(db, helpdesk.TicketFilter(overdue=True), now=late) == []
        helpdesk.customer_message(db, ticket, "Posílám.", customer, now=t0 + timedelta(hours=31))
        assert ticket.state == "open" and ticket.waiting_since is None
        assert ticket.sla_paused_seconds == 30 * H
        assert ticket.resolution_due_at == t0 + timedelta(hours=78)  # moved by the 30 h waited
        # a second wait adds up; a priority change keeps the pauses
        helpdesk.change_state(db, ticket, "waiting", staff, now=t0 + timedelta(hours=40))
        helpdesk.change_state(db, ticket, "open", staff, now=t0 + timedelta(hours=42))
        assert ticket.resolution_due_at == t0 + timedelta(hours=80)
        helpdesk.change_priority(db, ticket, "high", staff, now=t0 + timedelta(hours=43))
        assert ticket.resolution_due_at == t0 + timedelta(hours=24 + 32)
        assert helpdesk.is_overdue(ticket, t0 + timedelta(hours=57))
        db.commit()


def test_the_ticket_page_shows_the_pause(client, db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        ticket = helpdesk.create_ticket(db, subject="Dotaz", body="?", actor=staff, customer_id=customer_a.id)
        helpdesk.reply(db, ticket, "Pošlete foto?", staff)
        db.commit()
    enter(client, world)
    assert "pozastaveno od" in client.get(f"/callcenter/{ticket.number}").get_data(as_text=True)


def test_a_business_hours_pause_moves_the_due_date_by_the_working_time_waited(db, world, in_loc, customer_a, staff):
    with in_loc(world.loc_a):
        sla.save_sla(db, "normal", response_hours="4", resolution_hours="16", clock="business")
        monday = local(2026, 3, 2, 8, 0)
        ticket = helpdesk.create_ticket(db, subject="Dotaz", body="?", actor=staff, customer_id=customer_a.id,
                                        now=monday)
        assert ticket.resolution_due_at == local(2026, 3, 3, 16, 0)
        helpdesk.reply(db, ticket, "?", staff, now=local(2026, 3, 2, 15, 0))
        # waiting from Monday 15:00 to Tuesday 10:00: 1 + 2 = 3 working hours (the night does not count)
        helpdesk.customer_message(db, ticket, "!", helpdesk.Actor(customer_id=customer_a.id),
                                  now=local(2026, 3, 3, 10, 0))
        assert ticket.sla_paused_seconds == 3 * H
        assert ticket.resolution_due_at == local(2026, 3, 4, 11, 0)


# --- saving the calendar and the settings page ----------------------------------------------------------


def test_saving_hours_checks_everything_first(db, world, in_loc):
    with in_loc(world.loc_a):
        bh.save_hours(db, {"mon": ("7:30", "15:30"), "sat": ("9:00", "12:00")})
        assert bh.weekday_hours(db) == {0: (450, 930), 5: (540, 720)}
        db.commit()
        for values, field in [({}, "mon_opens"), ({"tue": ("10:00", "9:00")}, "tue_opens"),
                              ({"mon": ("8:00", "")}, "mon_opens"), ({"wed": ("25:00", "26:00")}, "wed_opens"),
                              ({"thu": ("8:75", "9:00")}, "thu_opens"), ({"fri": ("8", "osm")}, "fri_closes")]:
            with pytest.raises(InvalidValue) as exc:
                bh.save_hours(db, values)
            assert exc.value.field == field, values
            db.rollback()
        assert bh.weekday_hours(db) == {0: (450, 930), 5: (540, 720)}
        bh.save_hours(db, {"sun": ("0:00", "24:00")})
        assert bh.weekday_hours(db) == {6: (0, 1440)}
        with pytest.raises(InvalidValue):
            bh.add_closed_day(db, "31. 2. 2026")
        bh.add_closed_day(db, date(2026, 12, 31), "Silvestr")
        with pytest.raises(InvalidValue):
            bh.add_closed_day(db, "2026-12-31")


def enter(client, world) -> None:  # noqa: ANN001
    login(client, world.admin_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302


def test_the_settings_page_saves_hours_closed_days_and_clocks(client, db, world):
    enter(client, world)
    page = client.get("/callcenter/settings").get_data(as_text=True)
    assert 'id="business-hours"' in page and "Pracovní doba" in page and 'value="8:00"' in page
    assert 'id="holidays"' in page and "Europe/Prague" in page
    resp = post(client, "/callcenter/settings/hours", {"mon_opens": "9:00", "mon_closes": "17:30",
                                                       "tue_opens": "9:00", "tue_closes": "17:30"},
                token_from="/callcenter/settings")
    assert resp.status_code == 302
    assert "Pracovní doba uložena." in client.get("/callcenter/settings").get_data(as_text=True)
    bad = post(client, "/callcenter/settings/hours", {"mon_opens": "18:00", "mon_closes": "9:00"},
               token_from="/callcenter/settings")
    assert bad.status_code == 302
    assert "Zadejte začátek a pozdější konec" in client.get("/callcenter/settings").get_data(as_text=True)
    future = (datetime.now(UTC) + timedelta(days=30)).date()
    assert post(client, "/callcenter/settings/closed-days", {"day": future.isoformat(), "note": "Inventura"},
                token_from="/callcenter/settings").status_code == 302
    sla_values = {f"{p}_{k}": v for p in ("low", "normal", "high", "urgent")
                  for k, v in (("response", "4"), ("resolution", "20"), ("clock", "24x7"))}
    sla_values["normal_clock"] = "business"
    assert post(client, "/callcenter/settings/sla", sla_values, token_from="/callcenter/settings").status_code == 302
    with location_scope(world.loc_a.id):
        assert {(r.weekday, r.opens, r.closes) for r in db.scalars(select(BusinessHours))} == {(0, 540, 1050),
                                                                                            (1, 540, 1050)}
        closed = db.scalar(select(ClosedDay))
        assert (closed.day, closed.note) == (future, "Inventura")
        assert db.scalar(select(Sla.clock).where(Sla.priority == "normal")) == "business"
        assert db.scalar(select(Sla.clock).where(Sla.priority == "low")) == "24x7"
    page = client.get("/callcenter/settings").get_data(as_text=True)
    assert f'data-closed-day="{future.isoformat()}"' in page and "Inventura" in page
    assert 'data-confirm="Tento den zase otevřít?"' in page
    assert post(client, f"/callcenter/settings/closed-days/{closed.id}/remove", {},
                token_from="/callcenter/settings").status_code == 302
    assert post(client, f"/callcenter/settings/closed-days/{closed.id}/remove", {},
                token_from="/callcenter/settings").status_code == 404
    with location_scope(world.loc_a.id):
        assert db.scalar(select(func.count()).select_from(ClosedDay)) == 0


def test_the_calendar_settings_need_the_settings_permission(client, world):
    login(client, world.clerk_a.email)
    assert post(client, "/location", {"location_id": world.loc_a.id}).status_code == 302
    for path in ("/callcenter/settings/hours", "/callcenter/settings/closed-days",
                 "/callcenter/settings/closed-days/1/remove"):
        assert post(client, path, {"mon_opens": "1:00", "mon_closes": "2:00"}).status_code == 403, path

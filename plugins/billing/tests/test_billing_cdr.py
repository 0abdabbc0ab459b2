"""CDR import: Asterisk Master.csv, mapped CSVs of other PBXs, whole-file refusal, dedup inside a file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_billing.usage.cdr import (
    MAX_REPORTED,
    CdrError,
    ColumnMapping,
    normalise_number,
    parse_asterisk_csv,
    parse_csv,
)

PRAGUE = ZoneInfo("Europe/Prague")


def asterisk_line(*, account="100", src="602123456", dst="212345678", start="2024-03-01 10:00:00",
                  answer="2024-03-01 10:00:05", end="2024-03-01 10:01:35", duration="95", billsec="90",
                  disposition="ANSWERED", uniqueid="1709283600.1", userfield="", clid='"Jan" <602123456>',
                  extra: tuple[str, ...] | None = None) -> str:
    """A line as cdr_csv.c writes it: strings quoted with inner quotes doubled, numbers bare."""
    def q(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    fields = [q(account), q(src), q(dst), q("from-internal"), q(clid), q("SIP/100-00000001"),
              q("SIP/trunk-00000002"), q("Dial"), q("SIP/trunk/212345678,60"), q(start), q(answer), q(end),
              duration, billsec, q(disposition), q("DOCUMENTATION")]
    fields += [q(v) for v in (extra if extra is not None else (uniqueid, userfield))]
    return ",".join(fields)


def test_asterisk_line_is_read_field_by_field():
    [call] = parse_asterisk_csv(asterisk_line() + "\n")
    assert call.account == "100"
    assert call.source == "420602123456"
    assert call.destination == "420212345678"
    assert call.started_at == datetime(2024, 3, 1, 10, 0, 0, tzinfo=PRAGUE)
    assert call.started_at.utcoffset() == timedelta(hours=1)
    assert call.answered_at == datetime(2024, 3, 1, 10, 0, 5, tzinfo=PRAGUE)
    assert (call.duration_s, call.billsec, call.disposition) == (95, 90, "ANSWERED")
    assert call.key.startswith("1709283600.1/")
    assert call.billable
    assert '"Dial"' in call.raw


def test_summer_time_offset_and_bytes_input():
    [call] = parse_asterisk_csv(asterisk_line(start="2024-07-01 08:00:00").encode())
    assert call.started_at.utcoffset() == timedelta(hours=2)


def test_usegmtime_files_are_read_as_utc():
    [call] = parse_asterisk_csv(asterisk_line(), timezone="UTC")
    assert call.started_at.astimezone(PRAGUE).hour == 11


def test_unanswered_call_has_no_answer_time_and_is_not_billable():
    [call] = parse_asterisk_csv(asterisk_line(answer="", billsec="0", disposition="NO ANSWER"))
    assert call.answered_at is None
    assert not call.billable


def test_without_optional_columns_key_is_a_hash_of_the_fields():
    line = asterisk_line(extra=())
    [call] = parse_asterisk_csv(line)
    assert call.key.startswith("sha256:") and len(call.key) == len("sha256:") + 64
    [again] = parse_asterisk_csv(line + "\n")
    assert again.key == call.key


def test_userfield_only_configuration():
    [call] = parse_asterisk_csv(asterisk_line(extra=("customer-7",)), optional_columns=("userfield",))
    assert call.key.startswith("sha256:")


def test_repeated_line_is_returned_once_and_reported():
    text = "\n".join([asterisk_line(), asterisk_line(), asterisk_line(uniqueid="1709283600.2")]) + "\n"
    batch = parse_asterisk_csv(text)
    assert len(batch) == 2
    assert batch.duplicates == [(2, batch[0].key)]


def test_same_uniqueid_with_other_content_is_not_a_duplicate():
    # Asterisk 12+ writes one CDR per party B, all with party A's uniqueid.
    text = asterisk_line(dst="212345678") + "\n" + asterisk_line(dst="603000000") + "\n"
    batch = parse_asterisk_csv(text)
    assert len(batch) == 2 and batch.duplicates == []


def test_quoted_comma_and_quote_inside_fields():
    [call] = parse_asterisk_csv(asterisk_line(clid='"Novák, Jan" <602>'))
    assert call.source == "420602123456"


def test_bad_lines_refuse_the_whole_file_and_are_all_listed():
    text = "\n".join([
        asterisk_line(),
        asterisk_line(start="2024-13-01 10:00:00"),
        asterisk_line(billsec="ninety"),
        '"100","602"',
        asterisk_line(disposition="MAYBE"),
    ])
    with pytest.raises(CdrError) as info:
        parse_asterisk_csv(text)
    err = info.value
    assert [(i.line, i.column) for i in err.issues] == [(2, "start"), (3, "billsec"), (4, None),
                                                        (5, "disposition")]
    assert err.line == 2 and err.column == "start"
    assert "nothing imported" in str(err) and "line 3, column 'billsec'" in str(err)


def test_error_list_is_capped_but_counts_everything():
    text = "\n".join(asterisk_line(billsec="x", uniqueid=str(n)) for n in range(MAX_REPORTED + 7))
    with pytest.raises(CdrError) as info:
        parse_asterisk_csv(text)
    assert len(info.value.issues) == MAX_REPORTED
    assert info.value.total == MAX_REPORTED + 7
    assert "and 7 more" in str(info.value)


def test_undecodable_bytes_name_the_line():
    data = asterisk_line().encode() + b"\n" + asterisk_line(account="\xe9").encode("latin-1")
    with pytest.raises(CdrError) as info:
        parse_asterisk_csv(data)
    assert info.value.line == 2


@pytest.mark.parametrize(("raw", "expected"), [
    ("602123456", "420602123456"),
    ("+420 602 123 456", "420602123456"),
    ("00420602123456", "420602123456"),
    ("00421905123456", "421905123456"),
    ("420602123456", "420602123456"),
    ("+44 20 7946 0958", "442079460958"),
    ("(602) 123-456", "420602123456"),
    ("101", "101"),
    ("s", "s"),
    ("*97", "*97"),
    ("", ""),
])
def test_number_normalisation(raw, expected):
    assert normalise_number(raw) == expected


# --- other PBXs ---------------------------------------------------------------------------------------

MAPPING = {
    "columns": {"started_at": "Datum", "source": "Volající", "destination": "Volané číslo",
                "billsec": "Délka", "disposition": "Stav", "key": "ID"},
    "delimiter": ";", "date_format": "%d.%m.%Y %H:%M:%S", "has_header": True, "encoding": "cp1250",
    "dispositions": {"spojeno": "ANSWERED", "obsazeno": "BUSY", "nedovoláno": "NO ANSWER"},
}


def test_mapped_csv_with_header_and_czech_encoding():
    text = ("ID;Datum;Volající;Volané číslo;Délka;Stav\r\n"
            "a1;01.03.2024 10:00:00;602123456;+420212345678;0:01:30;spojeno\r\n"
            "a2;01.03.2024 11:00:00;602123456;212345678;0;obsazeno\r\n")
    batch = parse_csv(text.encode("cp1250"), ColumnMapping.from_dict(MAPPING))
    assert [(c.key.split("/")[0], c.billsec, c.disposition) for c in batch] == [("a1", 90, "ANSWERED"),
                                                                                ("a2", 0, "BUSY")]
    # Without an account column, the calling number is the account (one VoIP number = one service).
    assert batch[0].account == "420602123456"
    assert batch[0].started_at == datetime(2024, 3, 1, 10, tzinfo=PRAGUE)


def test_mapping_by_index_with_talk_time_from_answer_and_end():
    mapping = ColumnMapping({"account": 0, "destination": 1, "started_at": 2, "answered_at": 3, "ended_at": 4})
    [call] = parse_csv("svc9,602000111,2024-03-01 10:00:00,2024-03-01 10:00:10,2024-03-01 10:02:10\n", mapping)
    assert (call.billsec, call.duration_s, call.disposition, call.account) == (120, 130, "ANSWERED", "svc9")


def test_mapping_round_trips_through_json():
    mapping = ColumnMapping.from_dict(MAPPING)
    assert ColumnMapping.from_dict(json.loads(json.dumps(mapping.to_dict()))) == mapping


@pytest.mark.parametrize(("data", "fragment"), [
    ({"columns": {"destination": 1}}, "'started_at' has no column"),
    ({"columns": {"destination": 1, "started_at": 2}}, "talk time"),
    ({"columns": {"destination": "To", "started_at": 2, "billsec": 3}}, "has_header is false"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": 3, "colour": 4}}, "unknown field"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": -1}}, "0 or more"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": 3}, "encoding": "klingon"}, "unknown encoding"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": 3}, "timezone": "Mars/Olympus"}, "time zone"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": 3}, "dispositions": {"ok": "YES"}}, "maps to"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": 3}, "colour": "red"}, "unknown column-mapping"),
    ({"columns": [1, 2]}, "needs 'columns'"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": 3}, "delimiter": 5}, "must be text"),
    ({"columns": {"destination": 1, "started_at": 2, "billsec": 3}, "dispositions": ["x"]}, "must be an object"),
])
def test_bad_mappings_are_refused_clearly(data, fragment):
    with pytest.raises(CdrError, match=fragment):
        ColumnMapping.from_dict(data)


def test_missing_header_column_is_reported():
    mapping = ColumnMapping.from_dict(MAPPING)
    with pytest.raises(CdrError, match="header has no column 'Stav'"):
        parse_csv("ID;Datum;Volající;Volané číslo;Délka\n", mapping)


def test_short_line_in_mapped_file():
    mapping = ColumnMapping({"destination": 0, "started_at": 1, "billsec": 5})
    with pytest.raises(CdrError) as info:
        parse_csv("602000111,2024-03-01 10:00:00,30\n", mapping)
    assert info.value.issues[0].column == "billsec"


# --- garbage in: only CdrError comes out -------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.binary()))
def test_garbage_asterisk_input_raises_only_cdr_error(data):
    try:
        batch = parse_asterisk_csv(data)
    except CdrError:
        return
    for call in batch:
        assert call.started_at.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([asterisk_line(), asterisk_line(billsec="5x"), "\"a\",\"b\"", "", "\"",
                                 asterisk_line(uniqueid="u2", dst="603111222")]), max_size=8))
def test_mixed_lines_import_all_or_nothing(lines):
    text = "\n".join(lines)
    bad = any(line in (asterisk_line(billsec="5x"), '"a","b"', '"') for line in lines)
    try:
        batch = parse_asterisk_csv(text)
    except CdrError as exc:
        assert bad and exc.issues
        return
    assert not bad
    assert len(batch) == len({line for line in lines if line})


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=";,\"\n0123456789:.- abcANSWERED", max_size=200))
def test_garbage_mapped_input_raises_only_cdr_error(text):
    mapping = ColumnMapping({"destination": 0, "started_at": 1, "billsec": 2, "disposition": 3},
                            delimiter=";", date_format="%d.%m.%Y %H:%M")
    try:
        parse_csv(text, mapping)
    except CdrError:
        pass

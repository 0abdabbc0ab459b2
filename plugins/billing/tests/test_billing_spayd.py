"""QR Platba (SPAYD 1.0) strings and their QR codes."""

from __future__ import annotations

import zlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_billing.outputs.qr import QrError, qr_code, qr_png, qr_svg
from mango_billing.outputs.spayd import ALPHANUMERIC, SpaydError, clean_text, spayd

# Published in the `spayd` crate (github Korma-Chameleon/spayd, src/crc32.rs, test good_crc32).
PUBLISHED = "SPD*1.0*ACC:CZ5855000000001265098001*AM:100.00*CC:CZK*CRC32:AAD80227"


def parse(text: str) -> dict[str, str]:
    """A small, independent SPAYD reader: attributes unescaped, the CRC32 verified."""
    parts = text.split("*")
    assert parts[0] == "SPD" and parts[1] == "1.0"
    raw: dict[str, str] = {}
    for part in parts[2:]:
        key, sep, value = part.partition(":")
        assert sep and key and key not in raw
        raw[key] = value
    crc = raw.pop("CRC32")
    canonical = "SPD*1.0*" + "*".join(f"{k}:{raw[k]}" for k in sorted(raw))
    assert crc == f"{zlib.crc32(canonical.encode()):08X}", "CRC32 does not match the canonical form"
    return {k: v.replace("%2A", "*").replace("%25", "%") for k, v in raw.items()}


def test_published_example_is_reproduced_exactly():
    assert spayd("CZ5855000000001265098001", Decimal("100.00")) == PUBLISHED
    assert parse(PUBLISHED)["AM"] == "100.00"


def test_czech_account_becomes_iban_and_keys_are_sorted():
    text = spayd("19-2000145399/0800", Decimal("1234.5"), vs="2025000123", ks="0308", message="Faktura FV1",
                 due=date(2025, 4, 15), bic="GIBACZPX", recipient="Mango Net s.r.o.")
    values = parse(text)
    assert values["ACC"] == "CZ6508000000192000145399+GIBACZPX"
    assert values["AM"] == "1234.50" and values["DT"] == "20250415"
    assert values["X-VS"] == "2025000123" and values["X-KS"] == "0308"
    assert values["RN"] == "MANGO NET S.R.O."
    keys = [p.split(":")[0] for p in text.split("*")[2:-1]]
    assert keys == sorted(keys) and text.split("*")[-1].startswith("CRC32:")


def test_star_and_percent_are_escaped_and_diacritics_transliterated():
    text = spayd("CZ6508000000192000145399", Decimal("1"), message="Sleva 5 % * Příliš žluťoučký – kůň")
    assert "MSG:SLEVA 5 %25 %2A PRILIS ZLUTOUCKY - KUN*" in text
    assert parse(text)["MSG"] == "SLEVA 5 % * PRILIS ZLUTOUCKY - KUN"


def test_amount_may_be_left_out():
    assert "AM:" not in spayd("CZ6508000000192000145399", None)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"iban": "CZ6508000000192000145398"}, "not a valid IBAN"),
    ({"iban": "19-2000145398/0800"}, "check digit"),
    ({"iban": ""}, "missing"),
    ({"amount": 12.5}, "never a float"),
    ({"amount": Decimal("0")}, "positive"),
    ({"amount": Decimal("-3")}, "positive"),
    ({"amount": Decimal("10000000.00")}, "limit"),
    ({"amount": Decimal("1.005")}, "2 decimal places"),
    ({"amount": "abc"}, "not a number"),
    ({"amount": Decimal("NaN")}, "not a number"),
    ({"vs": "12345678901"}, "1 to 10 digits"),
    ({"vs": "12a"}, "1 to 10 digits"),
    ({"ss": -5}, "1 to 10 digits"),
    ({"message": "x" * 61}, "at most 60"),
    ({"message": "info@example.cz"}, "'@'"),
    ({"recipient": "R" * 36}, "at most 35"),
    ({"currency": "KORUNA"}, "ISO 4217"),
    ({"currency": "XYZ"}, "ISO 4217"),
    ({"bic": "NOTABIC!"}, "BIC"),
    ({"due": "2025-01-01"}, "due date"),
])
def test_bad_input_is_refused_with_a_clear_message(kwargs, fragment):
    args = {"iban": "CZ6508000000192000145399", "amount": Decimal("10.00"), **kwargs}
    with pytest.raises(SpaydError) as info:
        spayd(**args)
    assert fragment in str(info.value)


def test_clean_text_makes_any_text_fit():
    assert clean_text("Faktura č. 2025/001, internet @ home!") == "FAKTURA C. 2025/001 INTERNET HOME"
    assert len(clean_text("a" * 200)) == 60


IBANS = ["CZ6508000000192000145399", "CZ5855000000001265098001", "SK3112000000198742637541",
         "DE89370400440532013000"]
digits = st.text(alphabet="0123456789", min_size=1, max_size=10)
text_values = st.text(alphabet=sorted(ALPHANUMERIC), min_size=1, max_size=35).map(lambda s: " ".join(s.split()))


@settings(max_examples=200, deadline=None)
@given(iban=st.sampled_from(IBANS), cents=st.integers(1, 999_999_999), currency=st.sampled_from(["CZK", "EUR"]),
       vs=st.none() | digits, ks=st.none() | digits, ss=st.none() | digits,
       message=st.none() | text_values.filter(bool), recipient=st.none() | text_values.filter(bool),
       due=st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)),
       bic=st.none() | st.sampled_from(["GIBACZPX", "KOMBCZPP", "TATRSKBX"]))
def test_any_valid_payment_reads_back_to_the_same_values(iban, cents, currency, vs, ks, ss, message, recipient,
                                                          due, bic):
    amount = Decimal(cents) / 100
    text = spayd(iban, amount, currency, vs=vs, ks=ks, ss=ss, message=message, due=due, bic=bic,
                 recipient=recipient)
    values = parse(text)
    assert values["ACC"] == iban + (f"+{bic}" if bic else "")
    assert Decimal(values["AM"]) == amount and len(values["AM"].split(".")[1]) == 2
    assert values["CC"] == currency
    for key, value in (("X-VS", vs), ("X-KS", ks), ("X-SS", ss), ("MSG", message), ("RN", recipient)):
        assert values.get(key) == value
    assert values.get("DT") == (due.strftime("%Y%m%d") if due else None)
    assert text.isascii() and all(ch in ALPHANUMERIC for ch in text)


@settings(max_examples=300, deadline=None)
@given(iban=st.text(max_size=40), amount=st.one_of(st.none(), st.text(max_size=15), st.decimals(), st.integers(),
                                                   st.floats()),
       vs=st.one_of(st.none(), st.text(max_size=12), st.integers()), message=st.none() | st.text(max_size=80),
       currency=st.text(max_size=4))
def test_garbage_gives_spayd_error_or_a_valid_string(iban, amount, vs, message, currency):
    try:
        text = spayd(iban, amount, currency, vs=vs, message=message)
    except SpaydError:
        return
    parse(text)


def test_qr_codes_use_error_level_m_and_alphanumeric_mode():
    code = qr_code(PUBLISHED)
    assert code.error == "M" and code.mode == "alphanumeric"
    svg = qr_svg(PUBLISHED)
    assert svg.startswith("<svg") and "viewBox" in svg and "<?xml" not in svg and 'class="qr-platba"' in svg
    png = qr_png(PUBLISHED, 4)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(qr_png(PUBLISHED, 8)) > len(png) / 2


@pytest.mark.parametrize("payload", ["", "X" * 8000])
def test_qr_refuses_empty_or_oversized_payloads(payload):
    with pytest.raises(QrError):
        qr_svg(payload)


def test_qr_png_refuses_a_silly_scale():
    with pytest.raises(QrError):
        qr_png(PUBLISHED, 0)

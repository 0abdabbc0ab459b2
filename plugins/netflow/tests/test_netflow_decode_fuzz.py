"""Hypothesis against the decoder and the pcap reader: whatever the bytes, the answer is flows or
a DecodeError — never another exception, never a hang."""

from __future__ import annotations

import functools
import io
import struct
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mango_netflow.decode import DecodeError, Decoder
from mango_netflow.decode import encode as enc
from mango_netflow.decode import fields as ie
from mango_netflow.decode.pcap import PcapReader
from mango_netflow.flows import FLOW_DTYPE, empty

V4 = [(ie.SRC_V4, 4), (ie.DST_V4, 4), (ie.SRC_PORT, 2), (ie.DST_PORT, 2), (ie.PROTOCOL, 1), (ie.OCTETS, 4),
      (ie.FIRST_UPTIME, 4), (ie.LAST_UPTIME, 4), (ie.SAMPLER_ID, 1)]


def _corpus() -> list[bytes]:
    flows = empty(5)
    flows["first"], flows["last"], flows["octets"] = 1_700_000_000_000 - 5000, 1_700_000_000_000, 99
    record = bytes(range(26))
    return [
        enc.v5_packet(flows, uptime_ms=100_000, unix_secs=1_700_000_000),
        enc.v9_packet([enc.set_(0, enc.v9_template(300, V4)), enc.set_(300, record * 3),
                       enc.set_(1, enc.v9_options_template(301, [(1, 4)], [(ie.SAMPLER_ID, 1), (ie.SAMPLING_INTERVAL, 4)])),
                       enc.set_(301, bytes(9))]),
        enc.ipfix_packet([enc.set_(2, enc.ipfix_template(256, [*V4, (82, 0xFFFF), (ie.OCTETS, 3, 9)])),
                          enc.set_(256, (record + b"\x02ab" + b"xyz") * 2),
                          enc.set_(3, enc.ipfix_options_template(257, [(ie.SELECTOR_ID, 2)], [(ie.SAMPLING_PACKET_INTERVAL, 4),
                                                                                               (ie.SYSTEM_INIT_MS, 8)])),
                          enc.set_(257, bytes(14)), enc.set_(2, enc.ipfix_withdrawal(256))]),
    ]


CORPUS = _corpus()


def _check(decoder: Decoder, packet: bytes) -> None:
    try:
        flows = decoder.decode(packet, "192.0.2.1", now=0.0)
    except DecodeError:
        return
    assert flows.dtype == FLOW_DTYPE


@settings(max_examples=600)
@given(st.binary(max_size=2000))
def test_random_bytes(data):
    _check(Decoder(), data)


@settings(max_examples=300)
@given(st.sampled_from([5, 9, 10]), st.binary(max_size=1500))
def test_random_bodies_behind_a_valid_version(version, body):
    _check(Decoder(), struct.pack(">H", version) + body)


def _mutate(data: st.DataObject, packet: bytes) -> bytes:
    out = bytearray(packet)
    for _ in range(data.draw(st.integers(1, 8))):
        kind = data.draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        if not out:
            break
        at = data.draw(st.integers(0, len(out) - 1))
        if kind == "flip":
            out[at] ^= 1 << data.draw(st.integers(0, 7))
        elif kind == "set":
            out[at] = data.draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif kind == "cut":
            del out[at:at + data.draw(st.integers(1, 16))]
        else:
            out[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    return bytes(out)


@settings(max_examples=800)
@given(st.data())
def test_mutated_valid_packets(data):
    decoder = Decoder()
    for packet in CORPUS:  # the templates first, so mutated data sets meet real templates
        _check(decoder, packet)
    _check(decoder, _mutate(data, data.draw(st.sampled_from(CORPUS))))


@settings(max_examples=300)
@given(st.data())
def test_mutated_packets_in_a_batch(data):
    """decode_many: a broken packet is reported with its index, the others decode."""
    mutated = [_mutate(data, data.draw(st.sampled_from(CORPUS))) for _ in range(data.draw(st.integers(1, 6)))]
    packets = [(p, "192.0.2.1") for p in (*CORPUS, *mutated, *CORPUS)]
    by_exporter, errors = Decoder().decode_many(packets, now=0.0)
    assert all(isinstance(e, DecodeError) and len(CORPUS) <= i < len(CORPUS) + len(mutated) for _a, i, e in errors)
    for flows in by_exporter.values():
        assert flows.dtype == FLOW_DTYPE


@functools.lru_cache(maxsize=2)
def _fixture_packets(folder: Path) -> tuple[bytes, ...]:
    return tuple(p.read_bytes() for p in sorted((folder / "logstash-codec-netflow").glob("*.dat")))


@settings(max_examples=800)
@given(st.data())
def test_mutated_fixture_packets(netflow_fixtures, data):
    packets = _fixture_packets(netflow_fixtures)
    assert packets, f"no sample payloads in {netflow_fixtures}"
    decoder = Decoder()
    for packet in packets:
        _check(decoder, packet)
    _check(decoder, _mutate(data, data.draw(st.sampled_from(packets))))


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_pcap_reader_on_garbage(data):
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for stream in (data, header + data):
        try:
            for datagram in PcapReader(io.BytesIO(stream)):
                assert isinstance(datagram.payload, bytes)
        except DecodeError:
            pass


def test_corpus_is_valid():
    decoder = Decoder()
    counts = [len(decoder.decode(p, "192.0.2.1")) for p in CORPUS]
    assert counts == [5, 3, 2]
    assert np.all(decoder.decode(CORPUS[1], "192.0.2.1")["sampling"] >= 1)

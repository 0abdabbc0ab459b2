"""NetFlow v5/v9 and IPFIX decoding into :data:`~mango_netflow.flows.FLOW_DTYPE` arrays, and a
pcap reader for replaying captures."""

from mango_netflow.decode.decoder import Decoder, ExporterStats
from mango_netflow.decode.errors import DecodeError

__all__ = ["DecodeError", "Decoder", "ExporterStats"]

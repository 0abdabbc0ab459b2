"""Information elements the decoder turns into :data:`~mango_netflow.flows.FLOW_DTYPE` columns.

NetFlow v9 field types below 128 are the IPFIX information elements of the same number (RFC 7012),
and Cisco ASA's NF_F_* types reuse the IPFIX numbers too (NF_F_XLATE_SRC_ADDR_IPV4 = 225 =
postNATSourceIPv4Address, …), so one table serves both versions. Enterprise-specific elements are
skipped (they only take up room in the record).
"""

from __future__ import annotations

OCTETS = 1                   # octetDeltaCount / IN_BYTES
PACKETS = 2                  # packetDeltaCount / IN_PKTS
PROTOCOL = 4
TCP_FLAGS = 6                # tcpControlBits (2 bytes in IPFIX: the low byte holds the classic flags)
SRC_PORT = 7
SRC_V4 = 8
IN_IF = 10
DST_PORT = 11
DST_V4 = 12
OUT_IF = 14
LAST_UPTIME = 21             # flowEndSysUpTime / LAST_SWITCHED (ms of the exporter's uptime)
FIRST_UPTIME = 22            # flowStartSysUpTime / FIRST_SWITCHED
POST_OCTETS = 23             # postOctetDeltaCount / OUT_BYTES (used only when 1 and 85 are absent)
POST_PACKETS = 24
SRC_V6 = 27
DST_V6 = 28
ICMP_V4 = 32                 # icmpTypeCodeIPv4: type × 256 + code, stored as the destination port
SAMPLING_INTERVAL = 34       # samplingInterval / SAMPLING_INTERVAL
SAMPLER_ID = 48              # samplerId / FLOW_SAMPLER_ID
SAMPLER_RANDOM_INTERVAL = 50  # samplerRandomInterval / FLOW_SAMPLER_RANDOM_INTERVAL
OCTETS_TOTAL = 85
PACKETS_TOTAL = 86
ICMP_V6 = 139
FLOW_START_S = 150
FLOW_END_S = 151
FLOW_START_MS = 152          # also ASA NF_F_FLOW_CREATE_TIME_MSEC
FLOW_END_MS = 153
FLOW_START_US = 154          # dateTimeMicroseconds (NTP format)
FLOW_END_US = 155
FLOW_START_NS = 156          # dateTimeNanoseconds (NTP format)
FLOW_END_NS = 157
FLOW_START_DELTA_US = 158    # microseconds before the export time
FLOW_END_DELTA_US = 159
SYSTEM_INIT_MS = 160         # systemInitTimeMilliseconds: the base of IPFIX *SysUpTime
NAT_SRC_V4 = 225             # postNATSourceIPv4Address / NF_F_XLATE_SRC_ADDR_IPV4
NAT_DST_V4 = 226
NAT_SRC_PORT = 227           # postNAPTSourceTransportPort / NF_F_XLATE_SRC_PORT
NAT_DST_PORT = 228
NAT_EVENT = 230              # natEvent / NF_F_NAT_EVENT
INITIATOR_OCTETS = 231       # ASA NF_F_FWD_FLOW_DELTA_BYTES
RESPONDER_OCTETS = 232       # ASA NF_F_REV_FLOW_DELTA_BYTES
FW_EVENT = 233               # firewallEvent / NF_F_FW_EVENT
IN_PHYS_IF = 252
OUT_PHYS_IF = 253
NAT_SRC_V6 = 281             # postNATSourceIPv6Address / NF_F_XLATE_SRC_ADDR_IPV6
NAT_DST_V6 = 282
INITIATOR_PACKETS = 298
RESPONDER_PACKETS = 299
SELECTOR_ID = 302
SAMPLING_PACKET_INTERVAL = 305
SAMPLING_PACKET_SPACE = 306
OBSERVATION_MS = 323         # observationTimeMilliseconds / ASA NF_F_EVENT_TIME_MSEC

ADDRESSES_V4 = frozenset({SRC_V4, DST_V4, NAT_SRC_V4, NAT_DST_V4})
ADDRESSES_V6 = frozenset({SRC_V6, DST_V6, NAT_SRC_V6, NAT_DST_V6})

# Every element the decoder reads; the others are skipped by offset.
USED = frozenset({
    OCTETS, PACKETS, PROTOCOL, TCP_FLAGS, SRC_PORT, SRC_V4, IN_IF, DST_PORT, DST_V4, OUT_IF, LAST_UPTIME,
    FIRST_UPTIME, POST_OCTETS, POST_PACKETS, SRC_V6, DST_V6, ICMP_V4, SAMPLING_INTERVAL, SAMPLER_ID,
    SAMPLER_RANDOM_INTERVAL, OCTETS_TOTAL, PACKETS_TOTAL, ICMP_V6, FLOW_START_S, FLOW_END_S, FLOW_START_MS,
    FLOW_END_MS, FLOW_START_US, FLOW_END_US, FLOW_START_NS, FLOW_END_NS, FLOW_START_DELTA_US,
    FLOW_END_DELTA_US, SYSTEM_INIT_MS, NAT_SRC_V4, NAT_DST_V4, NAT_SRC_PORT, NAT_DST_PORT, NAT_EVENT,
    INITIATOR_OCTETS, RESPONDER_OCTETS, FW_EVENT, IN_PHYS_IF, OUT_PHYS_IF, NAT_SRC_V6, NAT_DST_V6,
    INITIATOR_PACKETS, RESPONDER_PACKETS, SELECTOR_ID, SAMPLING_PACKET_INTERVAL, SAMPLING_PACKET_SPACE,
    OBSERVATION_MS,
})

# ASA firewallEvent values that mean a NAT translation was created / deleted, as natEvent values
# (RFC 8158: 1 = NAT44 session create, 2 = NAT44 session delete) — only for records that carry
# translated (NF_F_XLATE_*) fields and no natEvent of their own.
FW_EVENT_AS_NAT = {1: 1, 2: 2}

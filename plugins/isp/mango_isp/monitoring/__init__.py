"""Monitoring: ICMP reachability (and SNMP counters), state history, availability, alerts."""

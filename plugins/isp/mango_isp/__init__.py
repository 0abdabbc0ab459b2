"""Mango ISP plugin: IPAM, topology, CPE and stock (and provisioning)."""

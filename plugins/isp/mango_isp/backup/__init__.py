"""NETCONF devices (ncclient) and configuration backup of every managed device.

``netconf`` pushes a configuration through the candidate datastore (validate, confirmed commit,
rollback on failure) and reads one back; ``render`` makes it from sandboxed per-device-type Jinja2
templates (``device_templates/``, the generic one speaks ``yang/mango-generic-device.yang``);
``linux`` dumps a Linux router's namespace; ``service`` keeps versions (a new one only on change),
diffs and restores them; ``testserver`` runs a real
NETCONF server (yuma123 netconfd behind sshd) for the tests.
"""

"""Provisioning drivers: desired state (state.py) in, actual state read back, a diff, apply.

The ISP models build a :class:`RouterState` per router; a driver per device type turns it into device
configuration. ``linux`` drives Linux routers (addresses, routes, static neighbours, per-subscriber
HTB shaping, nftables blocking); the design choices are in README.md beside this file.
"""

from mango_isp.provisioning.driver import (
    ApplyResult,
    Change,
    Driver,
    Failure,
    InvalidDesiredState,
    Plan,
    ProvisioningError,
)
from mango_isp.provisioning.state import (
    Block,
    BlockPolicy,
    Neighbour,
    Network,
    RouterState,
    Shaping,
    Subscriber,
)

__all__ = [
    "ApplyResult", "Block", "BlockPolicy", "Change", "Driver", "Failure", "InvalidDesiredState", "Neighbour",
    "Network", "Plan", "ProvisioningError", "RouterState", "Shaping", "Subscriber",
]

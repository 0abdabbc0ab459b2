"""Linux router provisioning over netlink (pyroute2) and nftables; see driver.py and objects.py."""

from mango_isp.provisioning.linux.driver import (
    LEAF_PREFERENCE,
    LinuxOptions,
    LinuxRouterDriver,
    RouterSession,
)
from mango_isp.provisioning.linux.readback import ActualState

__all__ = ["LEAF_PREFERENCE", "ActualState", "LinuxOptions", "LinuxRouterDriver", "RouterSession"]

"""Network devices: device types with typed parameters, devices, sites and the uplink topology."""

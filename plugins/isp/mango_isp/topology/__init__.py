"""Network topology data: interfaces of devices, links between them, services depending on them."""

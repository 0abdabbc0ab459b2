"""Topology graph and geographic map (Leaflet, vendored) of sites, devices and links."""

"""IP address management: prefixes, pools, assignments with history, MAC bindings, CGNAT."""

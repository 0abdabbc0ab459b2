"""Call centre comms."""

"""Call centre events."""

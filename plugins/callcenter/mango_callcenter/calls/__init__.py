"""Call centre calls."""

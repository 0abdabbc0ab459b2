"""NetFlow collector."""

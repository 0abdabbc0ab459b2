"""NetFlow store."""

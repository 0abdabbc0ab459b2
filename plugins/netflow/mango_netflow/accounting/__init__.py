"""NetFlow accounting."""

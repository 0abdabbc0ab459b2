"""NetFlow queries."""

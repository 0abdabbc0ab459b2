"""Mango NetFlow plugin: collector, data-retention store and queries, traffic accounting."""

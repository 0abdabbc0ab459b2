"""Customers of a location: records, contacts, addresses, tags, custom fields, search, card."""

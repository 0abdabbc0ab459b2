"""Mango Print: web-to-print for print shops."""

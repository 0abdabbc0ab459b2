"""Helpdesk tickets."""

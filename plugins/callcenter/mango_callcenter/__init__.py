"""Mango call centre plugin: helpdesk tickets, service events, calls, customer communication."""

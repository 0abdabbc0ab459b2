"""Provisioning pipeline: durable task queue, desired state from the data, workers and reconcile."""

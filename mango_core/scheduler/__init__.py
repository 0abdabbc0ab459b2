"""Scheduled jobs: the job-run record, running a job per location, the scheduler process.

``jobs`` (what a plugin contributes), ``runner`` (one run = one location, one transaction,
one record), ``locks`` (one active scheduler), ``service`` (the ``mango scheduler`` process),
``commands`` (CLI), ``views`` (the Opcare page), ``housekeeping`` (the core's own job).
"""

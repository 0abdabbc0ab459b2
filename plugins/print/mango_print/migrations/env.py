from mango_core.db.migrations import run_env

run_env()

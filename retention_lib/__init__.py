"""retention_lib."""

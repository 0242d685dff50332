"""Plain functions that put test data in the database, one module per domain."""

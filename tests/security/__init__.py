"""Security tests: revocable sessions, the lockout, development settings, hosts and logs."""

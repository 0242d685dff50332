"""Fault injection: a switchable TCP proxy, SMTP servers that fail on demand, the shop under gunicorn."""

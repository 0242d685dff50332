"""Outgoing email: queued with the change it tells about, sent by a job over SMTP (MAIL_URL) or
into the development outbox.

`queue.queue_email()` is how the shop sends an email; `services` lists every message and the
context it expects and does the rendering and delivery; the outbox pages live in views.py
(blueprint `bp`), registered in development only.
"""

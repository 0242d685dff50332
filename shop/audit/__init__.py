"""The audit log: who did what in the admin area, and when."""

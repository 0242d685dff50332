"""The admin area: one blueprint, guarded once in before_request.

Views live in views.py (blueprint `bp`); the app factory imports them there, so importing a
domain's models never drags in its views and the domains can use each other without cycles.
"""

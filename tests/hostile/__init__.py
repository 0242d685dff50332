"""Hostile input: a corpus of bad requests over every route, and property tests of the forms."""

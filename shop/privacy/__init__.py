"""Privacy requests: exporting and erasing what the shop holds about a person."""

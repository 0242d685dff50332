"""Browser journeys: the shop driven in headless Chromium as its readers, customers and owner use it."""

"""The API document and its interactive reference page."""

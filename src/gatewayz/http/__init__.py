"""The HTTP edge: request ids, body parsing, responses, and the error boundary."""

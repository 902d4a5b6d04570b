"""Services: the gateway's work, built once at start-up and shared by the routes."""

"""The ways in: FastAPI routes, web pages and the `mcopilot` CLI."""

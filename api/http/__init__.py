"""The HTTP API: a FastAPI app factory and its routes (provider webhooks, unsubscribe links)."""

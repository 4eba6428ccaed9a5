"""Route modules, one per area; each handler parses, calls one service, and answers."""

"""Journey spec, validation, simulation, triggers, scheduling, dispatch, channel adapters (part 4)."""

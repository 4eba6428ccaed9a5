"""Journey spec, validation, simulation, triggers, scheduling, dispatch and channel adapters."""

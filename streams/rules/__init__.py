"""The tenant's sync rules as pure functions over record states (no I/O, no clock)."""

"""The case workflow: one module-level state machine fired through an adapter (pure, no I/O)."""

"""Evidence reading and derived timelines (pure core)."""

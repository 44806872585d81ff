"""agent_example: synthetic activity so a fresh install's demo shows something."""

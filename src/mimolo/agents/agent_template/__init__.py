"""agent_template: the documented starting point for a new agent. Copy this package."""

"""Built-in agents, one package each. ``catalog`` lists them as templates."""

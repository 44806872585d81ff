"""Control's routes, one module per view."""

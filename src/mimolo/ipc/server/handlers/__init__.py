"""One module per command family: each lists its commands for the registry."""

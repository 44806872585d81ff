"""Reporters: the reporter protocol and the built-in reporters."""

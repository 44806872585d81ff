"""Control: the local web app."""

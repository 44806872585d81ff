"""The control socket server: Operations answers its clients here."""

"""Real desktop fixtures for the desktop_activity tests: Xvfb + openbox + windows, and a
private D-Bus session bus with an idle monitor of the tests' own."""

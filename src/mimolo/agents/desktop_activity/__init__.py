"""desktop_activity: the focused application and window and input idle time."""

"""screen_tracker: periodic screenshots as visual breadcrumbs, cross-platform through mss."""

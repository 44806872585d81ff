"""trail_tracker: CAD interaction from the trail files the program writes."""

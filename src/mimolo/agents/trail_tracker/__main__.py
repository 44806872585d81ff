"""``python -m mimolo.agents.trail_tracker``."""

from mimolo.agents.trail_tracker.agent import TrailTrackerAgent

if __name__ == "__main__":
    TrailTrackerAgent.main()

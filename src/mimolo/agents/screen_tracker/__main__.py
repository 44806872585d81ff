"""``python -m mimolo.agents.screen_tracker``."""

from mimolo.agents.screen_tracker.agent import ScreenTrackerAgent

if __name__ == "__main__":
    ScreenTrackerAgent.main()

"""``python -m mimolo.agents.desktop_activity``."""

from mimolo.agents.desktop_activity.agent import DesktopActivityAgent

if __name__ == "__main__":
    DesktopActivityAgent.main()

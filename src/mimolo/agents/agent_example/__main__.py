"""``python -m mimolo.agents.agent_example``."""

from mimolo.agents.agent_example.agent import ExampleAgent

if __name__ == "__main__":
    ExampleAgent.main()

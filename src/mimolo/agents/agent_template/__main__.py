"""``python -m mimolo.agents.agent_template``: how Operations starts the agent."""

from mimolo.agents.agent_template.agent import TemplateAgent

if __name__ == "__main__":
    # main() takes over stdout for protocol lines, reads commands from stdin and exits
    # cleanly on `shutdown`, stdin EOF or SIGTERM.
    TemplateAgent.main()

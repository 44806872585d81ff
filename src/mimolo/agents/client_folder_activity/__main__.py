"""``python -m mimolo.agents.client_folder_activity``."""

from mimolo.agents.client_folder_activity.agent import ClientFolderActivityAgent

if __name__ == "__main__":
    ClientFolderActivityAgent.main()

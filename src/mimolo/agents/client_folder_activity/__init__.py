"""client_folder_activity: counts file changes in a client's project folders."""

"""Whole data root backup and restore (``mimolo backup`` / ``mimolo restore``): a
consistent snapshot of a running root without stopping Operations, and a verified restore
into an empty folder."""

from mimolo.backup.manifest import BackupManifest, FileEntry, LedgerState
from mimolo.backup.progress import NoProgress, Progress
from mimolo.backup.restore import RestoreResult, restore_backup
from mimolo.backup.write import default_backup_name, make_backup

__all__ = [
    "BackupManifest",
    "FileEntry",
    "LedgerState",
    "NoProgress",
    "Progress",
    "RestoreResult",
    "default_backup_name",
    "make_backup",
    "restore_backup",
]

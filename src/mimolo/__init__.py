"""MiMoLo: a local, privacy-first activity monitor and work logger.

Agents observe one thing each and report summaries; Operations supervises them and keeps
the evidence ledger; Control is the local web app that derives timelines and reports.
"""

__version__ = "0.1.0"
APP_VERSION = __version__
PROTOCOL_VERSION = "0.4"
SUPPORTED_PROTOCOL_VERSIONS = ("0.3", "0.4")

__all__ = ["APP_VERSION", "PROTOCOL_VERSION", "SUPPORTED_PROTOCOL_VERSIONS", "__version__"]

"""Evidence that proves itself: verifying the ledger's hash chain and checkpoints."""

"""Agent packages: format, packer, verifier, installer."""

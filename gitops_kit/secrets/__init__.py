"""SOPS secrets: age keys, `.sops.yaml` editing, the real sops CLI wrapper and offline verification."""

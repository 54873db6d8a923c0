"""Errors the user can fix. The CLI prints them as one line and exits 2; they never become tracebacks."""


class UserError(Exception):
    """Bad usage, configuration, path or environment: exit code 2."""


class ToolError(UserError):
    """An external program (kubectl, kustomize, sops, kubeconform, git) is missing, too old, hung or failed."""

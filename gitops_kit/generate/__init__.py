"""`gitops-kit new cluster`: generate a fleet repository from cookiecutter templates and add-on blueprints.

Pipeline: answers (names.py) → fleet allocation (fleet.py) → render into a temp dir (render.py) →
validate → plan against the manifest of generated files (plan.py) → move into place + commit (apply.py).
"""

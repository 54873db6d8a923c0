"""duplicate-key: a mapping repeats a key. Emitted by the loader (scope "load")."""

from ..model import Severity
from ..rulebase import Rule

RULE = Rule(
    id="duplicate-key",
    severity=Severity.ERROR,
    scope="load",
    summary="A YAML mapping repeats a key.",
    rationale=(
        "Most YAML loaders silently keep only the last value, so the first one is dead configuration that "
        "reviewers still read; the API server's strict decoding rejects the object, and a merge of two "
        "people's edits often produces exactly this."
    ),
    fix="Remove one of the repeated keys, merging what both meant to say.",
    example="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
  mode: safe
""",
    good_example="""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: safe
""",
)

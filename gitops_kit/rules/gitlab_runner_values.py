"""gitlab-runner-values: the gitlab-runner chart values a GitOps repository can safely carry."""

from __future__ import annotations

import re
import tomllib
from typing import Any, Iterator, Mapping

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._helm import EmbeddedValues, embedded_values

CHART = "gitlab-runner"
# the chart passes runners.config through Helm `tpl`: template actions are not TOML. Lines holding only
# actions (if/range/end) are dropped; an inline action becomes 0, which is valid TOML both as a value and
# inside a quoted string, so the rest of the document can still be checked.
_TEMPLATE_LINE = re.compile(r"^[ \t]*(\{\{.*?\}\}[ \t]*)+$", re.M)
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _check_token(values: EmbeddedValues, runners: Mapping[str, Any], complete: bool) -> Iterator[Violation]:
    for key, why in (
        ("runnerRegistrationToken", "registration tokens are deprecated (GitLab 15.6, removal planned) and this one sits in Git in plain text"),
        ("runnerToken", "the runner authentication token sits in Git in plain text"),
    ):
        if values.values.get(key) not in (None, ""):
            yield Violation(
                f"{CHART} values set {key}: {why}",
                path=values.at(key),
                fix=f"Delete {key}; create a Secret with keys runner-token and runner-registration-token (SOPS-encrypted) and set runners.secret to its name.",
            )
    secret = runners.get("secret")
    if complete and not (isinstance(secret, str) and secret.strip()) and values.values.get("runnerToken") in (None, ""):
        yield Violation(
            f"{CHART} values name no token Secret (runners.secret): the runner cannot register",
            path=values.at("runners") if "runners" in values.values else values.path,
            fix="Set runners.secret to the name of a Secret holding runner-token (and an empty runner-registration-token).",
        )


def _parse_config(text: str) -> tuple[dict[str, Any] | None, str]:
    try:
        return tomllib.loads(_TEMPLATE.sub("0", _TEMPLATE_LINE.sub("", text))), ""
    except tomllib.TOMLDecodeError as error:
        return None, str(error)


def _check_config(values: EmbeddedValues, runners: Mapping[str, Any]) -> Iterator[Violation]:
    config = runners.get("config")
    if config is None:
        return  # the chart's default config.toml uses the kubernetes executor
    path = values.at("runners", "config")
    if not isinstance(config, str):
        yield Violation(
            f"{CHART} runners.config must be a TOML string (a YAML block `config: |`), not {type(config).__name__}",
            path=path,
            fix="Write runners.config as a literal block of TOML: `config: |` followed by [[runners]] tables.",
        )
        return
    parsed, error = _parse_config(config)
    if parsed is None:
        yield Violation(
            f"{CHART} runners.config is not valid TOML: {error} (line numbers count from the first line of the block)",
            path=path,
            fix="Fix the TOML syntax (key = \"value\", [runners.kubernetes] tables; YAML syntax is not accepted here).",
        )
        return
    entries = parsed.get("runners")
    if not isinstance(entries, list) or not entries:
        yield Violation(
            f"{CHART} runners.config has no [[runners]] table: the runner starts without any executor",
            path=path,
            fix="Add [[runners]] with a [runners.kubernetes] table.",
        )
        return
    for index, entry in enumerate(entries, start=1):
        executor = entry.get("executor")
        if executor not in (None, "kubernetes"):
            yield Violation(
                f"{CHART} runners.config [[runners]] #{index} uses executor {executor!r}: the chart runs jobs as pods only with the kubernetes executor",
                path=path,
                fix='Set executor = "kubernetes" (or leave it out: the chart registers a kubernetes executor).',
            )
        elif not isinstance(entry.get("kubernetes"), dict):
            yield Violation(
                f"{CHART} runners.config [[runners]] #{index} has no [runners.kubernetes] table",
                path=path,
                fix="Add [runners.kubernetes] (at least namespace and image) under [[runners]].",
            )
        if isinstance(entry.get("token"), str) and entry["token"].strip():
            yield Violation(
                f"{CHART} runners.config [[runners]] #{index} sets token in plain text",
                path=path,
                fix="Remove token from runners.config; the chart reads it from the Secret named by runners.secret.",
            )


def _check_url(values: EmbeddedValues) -> Iterator[Violation]:
    url = values.values.get("gitlabUrl")
    if not (isinstance(url, str) and re.match(r"^https?://[^/\s]+", url)):
        where = values.at("gitlabUrl") if "gitlabUrl" in values.values else values.path
        shown = "missing" if url is None else f"{url!r} is not an http(s) URL"
        yield Violation(
            f"{CHART} values: gitlabUrl {shown}",
            path=where,
            fix="Set gitlabUrl to the GitLab instance's full URL, e.g. https://gitlab.cern.ch/.",
        )


def complete(doc: Document) -> bool:
    """Whether the values in this document are all the values the chart gets.

    Only an Argo CD Application carries its values itself. A Flux HelmRelease is usually a kustomize base
    that each cluster patches (gitlabUrl and the runner name differ per cluster), in the cluster overlay or
    in the Flux Kustomization's own `spec.patches`, or takes values from `spec.valuesFrom`: even a rendered
    overlay may not hold them, so missing keys are not reported there.
    """
    return doc.kind == "Application"


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    for values in embedded_values(doc):
        if values.chart != CHART:
            continue
        runners = values.values.get("runners")
        runners = runners if isinstance(runners, dict) else {}
        if "gitlabUrl" in values.values or complete(doc):
            yield from _check_url(values)
        yield from _check_token(values, runners, complete(doc))
        yield from _check_config(values, runners)


RULE = Rule(
    id="gitlab-runner-values",
    severity=Severity.ERROR,
    kinds=frozenset({"HelmRelease", "Application"}),
    summary="gitlab-runner chart values (in a HelmRelease or Argo CD Application) lack gitlabUrl, carry a token in plain text, or have a runners.config that is not TOML with a kubernetes executor.",
    rationale=(
        "The runner Deployment crash-loops without gitlabUrl or a token, and a token written into values is a "
        "credential in Git history; runnerRegistrationToken is also deprecated. runners.config is rendered "
        "verbatim into config.toml: YAML syntax there, or a missing [runners.kubernetes] table, only shows up as "
        "a failing pod after the sync. Template actions ({{ … }}) are allowed, as the chart renders the string with tpl. "
        "A missing gitlabUrl or token Secret is reported on Argo CD Applications only: a Flux HelmRelease is often a "
        "base that clusters patch (in an overlay or a Flux Kustomization's spec.patches) or takes spec.valuesFrom."
    ),
    fix="Set gitlabUrl, runners.secret (a SOPS-encrypted Secret with runner-token) and a TOML runners.config with [[runners]] / [runners.kubernetes].",
    check=check,
    example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gitlab-runner, namespace: gitlab-runners}
spec:
  interval: 30m
  chart:
    spec: {chart: gitlab-runner, version: 0.86.0, sourceRef: {kind: HelmRepository, name: gitlab}}
  values:
    runnerRegistrationToken: GR1348941example
    runners:
      config: |
        runners:
          kubernetes: {image: alpine}
""",
    good_example="""\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: gitlab-runner, namespace: gitlab-runners}
spec:
  interval: 30m
  chart:
    spec: {chart: gitlab-runner, version: 0.86.0, sourceRef: {kind: HelmRepository, name: gitlab}}
  values:
    gitlabUrl: https://gitlab.cern.ch/
    rbac: {create: true}
    runners:
      secret: gitlab-runner-token
      config: |
        [[runners]]
          [runners.kubernetes]
            namespace = "{{ .Release.Namespace }}"
            image = "alpine"
""",
    references=("https://docs.gitlab.com/runner/install/kubernetes/",),
)

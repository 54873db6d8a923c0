"""gitlab-runner-values: the gitlab-runner chart values a GitOps repository can safely carry."""

from __future__ import annotations

import re

from ..model import Document, Severity, Violation
from ..rulebase import Context, Rule
from ._helm import EmbeddedValues, embedded_values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

CHART = "gitlab-runner"
# the chart passes runners.config through Helm `tpl`: template actions are not TOML. Lines holding only
# actions (if/range/end) are blanked; an inline action becomes 0, which is valid TOML both as a value and
# inside a quoted string, so the rest of the document can still be checked. Line numbers stay as written.
# Patterns are compiled on first use (re's cache), not when the module is imported.
_TEMPLATE_LINE = r"(?m)^[ \t]*(\{\{.*?\}\}[ \t]*)+$"
_TEMPLATE = r"(?s)\{\{.*?\}\}"
_TOML_POSITION = r"\s*\(at line (\d+), column (\d+)\)"
#: the open-files limit the seed's runners inject; containerd's default on recent Kubernetes is "infinity"
ULIMIT_FIX = 'pre_build_script = "ulimit -n 1048576"'
MAX_NOFILE = 1048576
_ULIMIT = r"\bulimit\s+(?:-[SH]*n[SH]*|-[SH]+\s+-n)\s+(\S+)"


def _check_token(values: EmbeddedValues, runners: Mapping[str, Any]) -> Iterator[Violation]:
    for key, why in (
        ("runnerRegistrationToken", "registration tokens are deprecated (GitLab 15.6, removal planned) and this one sits in Git in plain text"),
        ("runnerToken", "the runner authentication token sits in Git in plain text"),
    ):
        if values.values.get(key) not in (None, ""):
            yield Violation(
                f"{CHART} values set {key}: {why}",
                **values.where(key),
                fix=f"Delete {key}; create a Secret with keys runner-token and runner-registration-token (SOPS-encrypted) and set runners.secret to its name.",
            )
    secret = runners.get("secret")
    if values.complete and not (isinstance(secret, str) and secret.strip()) and values.values.get("runnerToken") in (None, ""):
        yield Violation(
            f"{CHART} values name no token Secret (runners.secret): the runner cannot register",
            **(values.where("runners") if "runners" in values.values else values.missing()),
            fix="Set runners.secret to the name of a Secret holding runner-token (and an empty runner-registration-token).",
        )


def _parse_config(text: str) -> tuple[dict[str, Any] | None, str, int]:
    """(parsed TOML, error message, 1-based line of the error inside the text)."""
    import tomllib

    blanked = re.sub(_TEMPLATE_LINE, "", text)
    blanked = re.sub(_TEMPLATE, lambda m: "0" + "\n" * m.group(0).count("\n"), blanked)
    try:
        return tomllib.loads(blanked), "", 0
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = re.search(_TOML_POSITION, message)
        line = int(match.group(1)) if match else 0
        column = f" (column {match.group(2)})" if match else ""
        return None, re.sub(_TOML_POSITION, "", message) + column, line


class TomlIndex:
    """Where the tables and keys of a runners.config TOML text are (parsed TOML has no positions).

    `runner` is the index of the `[[runners]]` table a line belongs to (-1 before the first one) and
    `table` its sub-table below it ("" for [[runners]] itself, "kubernetes", "kubernetes.pod_spec"…).
    """

    _HEADER = r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$"
    _KEY = r"^\s*([A-Za-z0-9_\-]+)\s*="

    def __init__(self, text: str) -> None:
        header_at, key_at = re.compile(self._HEADER).match, re.compile(self._KEY).match
        self.headers: list[tuple[int, int, str]] = []  # (line, runner, table)
        self.keys: list[tuple[int, int, str, str]] = []  # (line, runner, table, key)
        runner, table, in_string = -1, "", ""
        for number, line in enumerate(text.splitlines(), start=1):
            if in_string:
                if line.count(in_string) % 2:
                    in_string = ""
                continue
            header = header_at(line)
            if header:
                name = header.group(1).replace(" ", "")
                if name == "runners" and line.strip().startswith("[["):
                    runner, table = runner + 1, ""
                else:
                    table = name[len("runners."):] if name.startswith("runners.") else name
                self.headers.append((number, runner, table))
                continue
            key = key_at(line)
            if key:
                self.keys.append((number, runner, table, key.group(1)))
                rest = line[key.end():]
                for quote in ('"""', "'''"):
                    if rest.count(quote) % 2:
                        in_string = quote

    def runner_line(self, runner: int) -> int:
        return next((line for line, index, table in self.headers if index == runner and table == ""), 0)

    def key_line(self, runner: int, key: str, table: str = "") -> int:
        return next((line for line, index, where, name in self.keys if index == runner and where == table and name == key), 0)

    def camel_case_keys(self, runner: int) -> list[tuple[int, str, str]]:
        """(line, table, key) of camelCase keys in the [runners.kubernetes…] tables of one runner."""
        return [(line, where, name) for line, index, where, name in self.keys
                if index == runner and where.startswith("kubernetes") and re.search(r"[a-z][A-Z]", name)]

    def misplaced(self, runner: int, key: str) -> tuple[int, str] | None:
        """(line, table) where a [[runners]] key was written below a sub-table header, where TOML puts it."""
        return next(((line, where) for line, index, where, name in self.keys if index == runner and where and name == key), None)


#: [[runners]] keys that, written after [runners.kubernetes], silently become unknown keys of that table
_RUNNER_KEYS = ("pre_build_script", "pre_get_sources_script", "post_build_script", "builds_dir", "executor")


def _check_config(values: EmbeddedValues, runners: Mapping[str, Any]) -> Iterator[Violation]:
    config = runners.get("config")
    if config is None:
        if values.complete:
            yield Violation(
                f"{CHART} values set no runners.config: the chart's default config.toml has no pre_build_script, so "
                "job pods keep the container runtime's open-files limit (infinite with recent containerd), which "
                "makes CentOS 7 based jobs crawl until they time out",
                **(values.where("runners") if "runners" in values.values else values.missing()),
                severity=Severity.WARNING,
                fix=f"Set runners.config with [[runners]] {ULIMIT_FIX} and a [runners.kubernetes] table.",
            )
        return
    if not isinstance(config, str):
        yield Violation(
            f"{CHART} runners.config must be a TOML string (a YAML block `config: |`), not {type(config).__name__}",
            **values.where("runners", "config"),
            fix="Write runners.config as a literal block of TOML: `config: |` followed by [[runners]] tables.",
        )
        return

    def at(line: int) -> dict[str, Any]:
        # a block scalar (`config: |`) starts on the line after its key: TOML line N is N lines below it
        return values.where("runners", "config", line_offset=line if line and "\n" in config else 0)

    parsed, error, line = _parse_config(config)
    if parsed is None:
        yield Violation(
            f"{CHART} runners.config is not valid TOML: {error}",
            **at(line),
            fix="Fix the TOML syntax (key = \"value\", [runners.kubernetes] tables; YAML syntax is not accepted here).",
        )
        return
    index = TomlIndex(config)
    entries = parsed.get("runners")
    if not isinstance(entries, list) or not entries:
        yield Violation(
            f"{CHART} runners.config has no [[runners]] table: the runner starts without any executor",
            **at(0),
            fix="Add [[runners]] with a [runners.kubernetes] table.",
        )
        return
    for number, entry in enumerate(entries):
        yield from _check_entry(entry, number, index, at)


def _check_entry(entry: Mapping[str, Any], number: int, index: TomlIndex, at) -> Iterator[Violation]:
    label = f"runners.config [[runners]] #{number + 1}"
    executor = entry.get("executor")
    kubernetes = entry.get("kubernetes")
    if executor not in (None, "kubernetes"):
        yield Violation(
            f"{CHART} {label} uses executor {executor!r}: the chart runs jobs as pods only with the kubernetes executor",
            **at(index.key_line(number, "executor") or index.runner_line(number)),
            fix='Set executor = "kubernetes" (or leave it out: the chart registers a kubernetes executor).',
        )
    elif not isinstance(kubernetes, dict):
        yield Violation(
            f"{CHART} {label} has no [runners.kubernetes] table",
            **at(index.runner_line(number)),
            fix="Add [runners.kubernetes] (at least namespace and image) under [[runners]].",
        )
    if isinstance(entry.get("token"), str) and entry["token"].strip():
        yield Violation(
            f"{CHART} {label} sets token in plain text",
            **at(index.key_line(number, "token") or index.runner_line(number)),
            fix="Remove token from runners.config; the chart reads it from the Secret named by runners.secret.",
        )
    misplaced = {}
    for key in _RUNNER_KEYS:
        found = index.misplaced(number, key)
        if found is not None and key not in entry:
            misplaced[key] = found
            line, table = found
            yield Violation(
                f"{CHART} {label}: {key} is written below [runners.{table}], so TOML makes it a key of that table "
                "(indentation does not matter) and the runner ignores it",
                **at(line),
                fix=f"Move {key} above the first sub-table header of its [[runners]] table.",
            )
    for line, where, key in index.camel_case_keys(number):
        snake = re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()
        yield Violation(
            f"{CHART} {label}: [runners.{where}] key {key} is camelCase; config.toml keys are snake_case, so the runner "
            "ignores it and the setting never applies",
            **at(line),
            fix=f"Rename {key} to {snake}.",
        )
    if executor in (None, "kubernetes") and "pre_build_script" not in misplaced:
        yield from _check_ulimit(entry, number, label, index, at)


def _check_ulimit(entry: Mapping[str, Any], number: int, label: str, index: TomlIndex, at) -> Iterator[Violation]:
    """The seed's pitfall: recent containerd gives pods an infinite open-files limit; jobs from CentOS 7
    images then crawl (programs that close every possible descriptor) until they time out. The fix is a
    pre_build_script lowering it: that script runs in the build container's shell, before the job's script."""
    script = entry.get("pre_build_script")
    limits = re.findall(_ULIMIT, script) if isinstance(script, str) else []
    fix = f"Add {ULIMIT_FIX} to this [[runners]] table (it runs in the build container before every job script)."
    if not limits:
        elsewhere = entry.get("pre_get_sources_script")
        where = " (pre_get_sources_script runs in the helper container, so its ulimit never reaches the job)" if isinstance(elsewhere, str) and re.search(_ULIMIT, elsewhere) else ""
        yield Violation(
            f"{CHART} {label} sets no open-files limit in pre_build_script{where}: job pods inherit the container "
            "runtime's limit, infinite with recent containerd, and jobs from CentOS 7 based images then crawl until they time out",
            **at(index.key_line(number, "pre_build_script") or index.runner_line(number)),
            severity=Severity.WARNING,
            fix=fix,
        )
        return
    value = limits[-1].rstrip(";&|)'\"")
    if not value.isdigit() or int(value) > MAX_NOFILE:
        yield Violation(
            f"{CHART} {label} pre_build_script sets ulimit -n {value}: that keeps (or raises) the runaway open-files "
            f"limit instead of lowering it to at most {MAX_NOFILE}",
            **at(index.key_line(number, "pre_build_script") or index.runner_line(number)),
            severity=Severity.WARNING,
            fix=fix,
        )


def _check_url(values: EmbeddedValues) -> Iterator[Violation]:
    url = values.values.get("gitlabUrl")
    if not (isinstance(url, str) and re.match(r"^https?://[^/\s]+", url)):
        shown = "missing" if url is None else f"{url!r} is not an http(s) URL"
        yield Violation(
            f"{CHART} values: gitlabUrl {shown}",
            **(values.where("gitlabUrl") if "gitlabUrl" in values.values else values.missing()),
            fix="Set gitlabUrl to the GitLab instance's full URL, e.g. https://gitlab.cern.ch/.",
        )


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    # Only an Argo CD Application whose value files are all in this repository carries every value the chart
    # gets (`values.complete`). A Flux HelmRelease is usually a kustomize base that each cluster patches
    # (gitlabUrl and the runner name differ per cluster), in an overlay or a Flux Kustomization's
    # `spec.patches`, or takes `spec.valuesFrom`: missing keys are not reported there.
    for values in embedded_values(doc, ctx):
        if values.chart != CHART:
            continue
        runners = values.values.get("runners")
        runners = runners if isinstance(runners, dict) else {}
        if "gitlabUrl" in values.values or values.complete:
            yield from _check_url(values)
        yield from _check_token(values, runners)
        yield from _check_config(values, runners)


RULE = Rule(
    id="gitlab-runner-values",
    severity=Severity.ERROR,
    kinds=frozenset({"HelmRelease", "Application"}),
    summary="gitlab-runner chart values (in a HelmRelease or Argo CD Application, with its value files) lack gitlabUrl, carry a token in plain text, have a runners.config that is not TOML with a kubernetes executor, or leave jobs with the runtime's runaway open-files limit.",
    rationale=(
        "The runner Deployment crash-loops without gitlabUrl or a token, and a token written into values is a "
        "credential in Git history; runnerRegistrationToken is also deprecated. runners.config is rendered "
        "verbatim into config.toml: YAML syntax there, or a missing [runners.kubernetes] table, only shows up as "
        "a failing pod after the sync; such errors are reported at their own line inside the block. TOML puts every "
        "key below a `[runners.kubernetes]` header into that table whatever its indentation, so a pre_build_script "
        "written there is silently ignored, and so is a camelCase key such as allowPrivilegeEscalation (the TOML key is "
        "allow_privilege_escalation). CERN's move to Kubernetes runners hit containerd's infinite open-files "
        "limit: jobs from CentOS 7 based images crawled until they were killed after an hour; the fix was a "
        "`pre_build_script` with `ulimit -n` in every [[runners]] table (a warning when missing; in "
        "pre_get_sources_script it runs in the helper container and does not help). Template actions ({{ … }}) are "
        "allowed, as the chart renders the string with tpl. A missing gitlabUrl, token Secret or runners.config is "
        "reported on Argo CD Applications whose values are all known (inline and `$<ref>/` value files of this "
        "repository) only: a Flux HelmRelease is often a base that clusters patch (in an overlay or a Flux "
        "Kustomization's spec.patches) or takes spec.valuesFrom."
    ),
    fix="Set gitlabUrl, runners.secret (a SOPS-encrypted Secret with runner-token) and a TOML runners.config with [[runners]] (pre_build_script = \"ulimit -n 1048576\") / [runners.kubernetes].",
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
          pre_build_script = "ulimit -n 1048576"
          [runners.kubernetes]
            namespace = "{{ .Release.Namespace }}"
            image = "alpine"
""",
    references=(
        "https://docs.gitlab.com/runner/install/kubernetes/",
        "https://docs.gitlab.com/runner/configuration/advanced-configuration/",
    ),
)

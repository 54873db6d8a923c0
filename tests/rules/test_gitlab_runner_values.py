"""gitlab-runner-values: token values never reach the report; template actions in runners.config are accepted."""

from __future__ import annotations

from gitops_kit.engine import validate

from ..conftest import CANARY

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {{name: runner, namespace: ci}}
spec:
  interval: 30m
  chart:
    spec: {{chart: gitlab-runner, version: 0.86.0, sourceRef: {{kind: HelmRepository, name: gitlab}}}}
  values:
{values}
"""


def _findings(tmp_path, values: str):
    (tmp_path / "runner.yaml").write_text(RELEASE.format(values=values), encoding="utf-8")
    return validate([tmp_path], rules=["gitlab-runner-values"]).findings


def test_literal_tokens_are_reported_without_their_value(tmp_path):
    values = (
        "    gitlabUrl: https://gitlab.cern.ch/\n"
        f"    runnerToken: {CANARY}\n"
        f"    runnerRegistrationToken: {CANARY}\n"
        "    runners:\n"
        "      config: |\n"
        "        [[runners]]\n"
        '          pre_build_script = "ulimit -n 1048576"\n'
        f'          token = "{CANARY}"\n'
        "          [runners.kubernetes]\n"
    )
    findings = _findings(tmp_path, values)
    # the token inside the block is reported at its own line (16), not at `config:`
    assert {f.line for f in findings} == {10, 11, 16}
    for finding in findings:
        assert CANARY not in str(finding.to_dict())


def test_templated_config_parses(tmp_path):
    values = (
        "    gitlabUrl: https://gitlab.cern.ch/\n"
        "    runners:\n"
        "      secret: runner-token\n"
        "      config: |\n"
        "        [[runners]]\n"
        '          pre_build_script = "ulimit -n 1048576"\n'
        "          [runners.kubernetes]\n"
        '            namespace = "{{ default .Release.Namespace .Values.runners.jobNamespace }}"\n'
        "            cpu_limit = {{ .Values.cpuLimit | quote }}\n"
    )
    assert _findings(tmp_path, values) == []


def test_template_control_lines_are_skipped(tmp_path):
    values = (
        "    gitlabUrl: https://gitlab.cern.ch/\n"
        "    runners:\n"
        "      secret: runner-token\n"
        "      config: |\n"
        "        [[runners]]\n"
        '          pre_build_script = "ulimit -n 1048576"\n'
        "          [runners.kubernetes]\n"
        "          {{- if .Values.privileged }}\n"
        "            privileged = true\n"
        "          {{- end }}\n"
    )
    assert _findings(tmp_path, values) == []


def test_missing_keys_are_reported_on_applications_only():
    from gitops_kit.model import DocRef, Document
    from gitops_kit.rulebase import Context
    from gitops_kit.rules.gitlab_runner_values import check

    release = {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "runner", "namespace": "ci"},
        "spec": {"chart": {"spec": {"chart": "gitlab-runner"}}, "values": {"rbac": {"create": True}}},
    }
    assert list(check(Document(release, DocRef("/x", "x"), overlay="clusters/prod"), Context())) == []
    application = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "runner", "namespace": "argocd"},
        "spec": {"source": {"chart": "gitlab-runner", "helm": {"valuesObject": {"rbac": {"create": True}}}}},
    }
    messages = sorted(v.message for v in check(Document(application, DocRef("/x", "x")), Context()))
    assert len(messages) == 3 and "runners.secret" in messages[0] and "no runners.config" in messages[1] and "gitlabUrl missing" in messages[2]

"""locate: a path inside a document → line and column in the file, lazily, via ruamel.yaml."""

from __future__ import annotations

from gitops_kit import locate
from gitops_kit.loader import load_file

TEXT = """\
# comment
apiVersion: v1
kind: Pod
metadata:
  name: p
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:latest
        - name: sidecar
          image: "busybox"
"""


def refs(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text(TEXT)
    locate.clear_cache()
    docs, problems = load_file(str(path), "f.yaml")
    assert problems == []
    return [d.ref for d in docs]


def test_document_start(tmp_path):
    first, second = refs(tmp_path)
    assert locate.position(first, ()) == (2, 1)
    assert locate.position(second, ()) == (7, 1)


def test_mapping_keys_and_sequences(tmp_path):
    _, deployment = refs(tmp_path)
    assert locate.position(deployment, ("metadata", "name")) == (10, 3)
    containers = ("spec", "template", "spec", "containers")
    assert locate.position(deployment, containers + (0, "image")) == (16, 11)
    assert locate.position(deployment, containers + (1,)) == (17, 11)
    assert locate.position(deployment, containers + (1, "image")) == (18, 11)


def test_missing_path_falls_back_to_the_deepest_existing_parent(tmp_path):
    _, deployment = refs(tmp_path)
    assert locate.position(deployment, ("spec", "template", "nothing", "here")) == (12, 3)
    assert locate.position(deployment, ("spec", "template", "spec", "containers", 7)) == (14, 7)
    assert locate.position(deployment, ("absent",)) == (7, 1)


def test_file_changed_or_gone_does_not_raise(tmp_path):
    first, _ = refs(tmp_path)
    (tmp_path / "f.yaml").unlink()
    locate.clear_cache()
    line, column = locate.position(first, ("metadata", "name"))
    assert line >= 1 and column >= 1


APPLICATION = """\
# Argo CD: the chart's values as one YAML string
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: gpu
spec:
  source:
    chart: gpu-operator
    helm:
      values: |

        mig:
          strategy: all
        devices:
          - name: a
          - name: b
      folded: >
        mig:
          strategy: all
      indented: |2
          deep: 1
          shallow: 2
"""


def app_ref(tmp_path):
    path = tmp_path / "app.yaml"
    path.write_text(APPLICATION)
    locate.clear_cache()
    [doc], problems = load_file(str(path), "app.yaml")
    assert problems == []
    return doc.ref


def test_a_path_inside_a_literal_block_string_is_located_inside_it(tmp_path):
    ref = app_ref(tmp_path)
    values = ("spec", "source", "helm", "values")
    assert locate.position(ref, values) == (10, 7)  # the key, as before
    assert locate.position(ref, values + ("mig",)) == (12, 9)  # a blank first line is kept
    assert locate.position(ref, values + ("mig", "strategy")) == (13, 11)
    assert locate.position(ref, values + ("devices", 1, "name")) == (16, 13)
    # missing inside the string: the deepest existing parent, still inside it
    assert locate.position(ref, values + ("mig", "absent")) == (12, 9)
    # an explicit indentation indicator: columns follow the file, not the string
    indented = ("spec", "source", "helm", "indented")
    assert locate.position(ref, indented + ("shallow",)) == (22, 11)


def test_folded_or_non_yaml_strings_stay_at_their_key(tmp_path):
    ref = app_ref(tmp_path)
    assert locate.position(ref, ("spec", "source", "helm", "folded", "mig")) == (17, 7)
    assert locate.position(ref, ("metadata", "name", "x")) == (5, 3)

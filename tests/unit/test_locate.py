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

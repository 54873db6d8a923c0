"""Deterministic benchmark corpora: a flat manifest tree and a kustomize fleet.

    .venv/bin/python bench/corpus.py flat  OUT_DIR --documents 6000 [--seed 1]
    .venv/bin/python bench/corpus.py fleet OUT_DIR --clusters 50   [--seed 1]

The flat corpus is N files of 3 documents each, in the shapes a real GitOps repository holds:
app bundles (Deployment + Service + ConfigMap), Flux bundles (HelmRepository + HelmRelease +
Kustomization) and SOPS-encrypted Secrets (ciphertext-shaped values and a `sops:` block, as
`sops --encrypt` writes them; no key can decrypt them, which is the point: nothing to leak).
Every object name is unique within its directory, so a clean corpus yields no findings and the
benchmark measures checking, not reporting.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
from pathlib import Path

FILES_PER_DIRECTORY = 50
DOCUMENTS_PER_FILE = 3
_IMAGES = ("registry.cern.ch/kubernetes/nginx", "ghcr.io/stefanprodan/podinfo", "docker.io/library/redis")


def _token(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode()


def _app_bundle(rng: random.Random, name: str, namespace: str) -> str:
    replicas = rng.randint(1, 5)
    image = f"{rng.choice(_IMAGES)}:{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    port = rng.choice((8080, 8443, 9090, 3000))
    cpu = rng.choice(("100m", "250m", "500m"))
    memory = rng.choice(("128Mi", "256Mi", "512Mi"))
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
  labels:
    app.kubernetes.io/name: {name}
    app.kubernetes.io/part-of: bench
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app.kubernetes.io/name: {name}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {name}
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: {name}
          image: {image}
          ports:
            - name: http
              containerPort: {port}
          envFrom:
            - configMapRef:
                name: {name}-config
          resources:
            requests:
              cpu: {cpu}
              memory: {memory}
            limits:
              memory: {memory}
          readinessProbe:
            httpGet:
              path: /healthz
              port: http
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {namespace}
spec:
  selector:
    app.kubernetes.io/name: {name}
  ports:
    - name: http
      port: 80
      targetPort: http
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}-config
  namespace: {namespace}
data:
  LOG_LEVEL: {rng.choice(("debug", "info", "warn"))}
  FEATURE_FLAGS: "{rng.choice(("a,b", "b", "a,c,d"))}"
  config.yaml: |
    listen: :{port}
    cache:
      size: {rng.randint(16, 512)}Mi
"""


def _flux_bundle(rng: random.Random, name: str, namespace: str) -> str:
    chart_version = f"{rng.randint(1, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    return f"""\
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: {name}-charts
  namespace: {namespace}
spec:
  interval: 1h
  url: https://charts.example.cern.ch/{name}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: {name}
  namespace: {namespace}
spec:
  interval: 30m
  chart:
    spec:
      chart: {name}
      version: "{chart_version}"
      sourceRef:
        kind: HelmRepository
        name: {name}-charts
  install:
    remediation:
      retries: 3
  values:
    replicaCount: {rng.randint(1, 4)}
    resources:
      requests:
        cpu: 100m
        memory: 128Mi
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}-config
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/{name}
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
  targetNamespace: {namespace}
"""


def _sops_secret(rng: random.Random, name: str, namespace: str) -> str:
    def enc(size: int) -> str:
        return (
            f"ENC[AES256_GCM,data:{_token(rng, size)},iv:{_token(rng, 32)},"
            f"tag:{_token(rng, 16)},type:str]"
        )

    armored = "\n".join(f"        {line}" for line in _wrap(_token(rng, 180), 64))
    return f"""\
apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: {namespace}
type: Opaque
stringData:
  username: {enc(8)}
  password: {enc(24)}
sops:
  age:
    - recipient: age1henwn645drkd3fa34t27t2w2x0nsgw3w4h62gmg5x5xflyjpy38s5cncph
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
{armored}
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2026-01-{rng.randint(10, 28)}T10:00:00Z"
  mac: {enc(64)}
  encrypted_regex: ^(data|stringData)$
  version: 3.10.2
"""


def _wrap(text: str, width: int) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


#: a repository-local CRD (no bundled schema knows this group): its openAPIV3Schema validates the CR below
_FLEET_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: siteprofiles.fleet.example.cern.ch
spec:
  group: fleet.example.cern.ch
  names:
    kind: SiteProfile
    listKind: SiteProfileList
    plural: siteprofiles
    singular: siteprofile
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [site]
              properties:
                site:
                  type: string
                gpuNodes:
                  type: integer
                  minimum: 0
                storage:
                  type: array
                  items:
                    type: string
                    enum: [cvmfs, eos, cephfs]
"""

_FLEET_PROFILE = """\
apiVersion: fleet.example.cern.ch/v1alpha1
kind: SiteProfile
metadata:
  name: web-site
  namespace: web
spec:
  site: meyrin
  gpuNodes: 4
  storage: [cvmfs, eos]
"""


def write_flat(out: Path, documents: int, seed: int = 1) -> int:
    """Write about `documents` documents (rounded up to whole files); return the document count."""
    rng = random.Random(seed)
    files = -(-documents // DOCUMENTS_PER_FILE)
    out.mkdir(parents=True, exist_ok=True)
    # a real repository with SOPS secrets says how to (re-)encrypt them
    (out / ".sops.yaml").write_text(
        "creation_rules:\n"
        "  - path_regex: .*\\.yaml$\n"
        "    encrypted_regex: ^(data|stringData)$\n"
        "    age: age1henwn645drkd3fa34t27t2w2x0nsgw3w4h62gmg5x5xflyjpy38s5cncph\n",
        encoding="utf-8",
    )
    for index in range(files):
        directory = out / f"team-{index // FILES_PER_DIRECTORY:04d}"
        directory.mkdir(parents=True, exist_ok=True)
        name, namespace = f"svc-{index:06d}", f"ns-{index % 17:02d}"
        shape = index % 6
        if shape < 3:
            text = _app_bundle(rng, name, namespace)
        elif shape < 5:
            text = _flux_bundle(rng, name, namespace)
        else:
            text = "---\n".join(_sops_secret(rng, f"{name}-{part}", namespace) for part in range(DOCUMENTS_PER_FILE))
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return files * DOCUMENTS_PER_FILE


def write_fleet(out: Path, clusters: int, seed: int = 1) -> int:
    """A shared base plus one kustomize overlay per cluster; return the number of overlays."""
    rng = random.Random(seed)
    base = out / "apps" / "base" / "web"
    base.mkdir(parents=True, exist_ok=True)
    (base / "app.yaml").write_text(_app_bundle(rng, "web", "web"), encoding="utf-8")
    # CRDs and CRs, so a fleet run exercises the bundled Flux schemas and the repository-CRD path
    (base / "release.yaml").write_text(_flux_bundle(rng, "web-chart", "web"), encoding="utf-8")
    (base / "crd.yaml").write_text(_FLEET_CRD, encoding="utf-8")
    (base / "profile.yaml").write_text(_FLEET_PROFILE, encoding="utf-8")
    (base / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
        "  - app.yaml\n  - release.yaml\n  - crd.yaml\n  - profile.yaml\n",
        encoding="utf-8",
    )
    for index in range(clusters):
        cluster = out / "clusters" / f"cluster-{index:03d}"
        cluster.mkdir(parents=True, exist_ok=True)
        (cluster / "kustomization.yaml").write_text(
            f"""\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: web
resources:
  - ../../apps/base/web
labels:
  - pairs:
      cluster: cluster-{index:03d}
patches:
  - path: replicas.yaml
    target:
      kind: Deployment
      name: web
""",
            encoding="utf-8",
        )
        (cluster / "replicas.yaml").write_text(
            f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {rng.randint(1, 6)}
""",
            encoding="utf-8",
        )
    return clusters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", choices=["flat", "fleet"])
    parser.add_argument("out", type=Path, help="directory to create (must not exist or be empty)")
    parser.add_argument("--documents", type=int, default=6000, help="flat: number of documents (default 6000)")
    parser.add_argument("--clusters", type=int, default=50, help="fleet: number of clusters (default 50)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.out.exists() and any(args.out.iterdir()):
        print(f"corpus: {args.out} is not empty; refusing to write into it", file=sys.stderr)
        return 2
    if args.shape == "flat":
        count = write_flat(args.out, args.documents, args.seed)
        print(f"wrote {count} documents under {args.out}")
    else:
        count = write_fleet(args.out, args.clusters, args.seed)
        print(f"wrote a fleet of {count} clusters under {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

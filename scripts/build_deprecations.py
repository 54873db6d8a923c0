"""Rebuild gitops_kit/data/deprecations.yaml from the research data beside the repository.

Usage: .venv/bin/python scripts/build_deprecations.py [SHARED_DOMAIN_DIR]   (default: ../shared/domain)

Inputs: k8s-api-lifecycle.txt (k8s.io/api prerelease-lifecycle tags), pluto-versions.yaml (FairwindsOps/pluto,
Apache-2.0, see gitops_kit/data/PLUTO-NOTICE), flux-crd-versions-by-release.txt (CRD versions per Flux minor).
Kubernetes' own lifecycle data wins over Pluto where they disagree; Cilium and pre-2.0 Flux rows are written
here from the upstream notes they cite. Run it after updating the inputs, then review the diff.
"""
import sys
import re, yaml_rs
from collections import OrderedDict
D=(sys.argv[1] if len(sys.argv) > 1 else "../shared/domain").rstrip("/")+"/"
def v(s):
    s=str(s).strip().lstrip("v")
    if not s: return ""
    p=s.split(".")
    return ".".join(p[:2])
def key(s): return tuple(int(x) for x in s.split("."))
rows={}
NON_OBJECT={"Scale","DeploymentRollback","AdmissionReview","APIGroupDiscovery","TokenRequest","Eviction","Binding"}
life={}
for line in open(D+"k8s-api-lifecycle.txt"):
    if line.startswith("#") or "|" not in line: continue
    gv,kind,intro,dep,rm,repl=[x.strip() for x in line.split("|")]
    life[(gv,kind)]=(v(intro),v(dep),v(rm),repl)
def intro_of(gv,kind):
    r=life.get((gv,kind)); return r[0] if r else ""
for (gv,kind),(intro,dep,rm,repl) in life.items():
    if not dep or kind in NON_OBJECT: continue
    rows[(gv,kind)]=dict(component="kubernetes",dep=dep,rm=rm,repl=repl.split(" ")[0] if repl else "",avail="",src="k8s.io/api lifecycle")
pl=yaml_rs.loads(open(D+"pluto-versions.yaml").read())["deprecated-versions"]
for e in pl:
    comp={"k8s":"kubernetes"}.get(e["component"],e["component"])
    k=(e["version"],e.get("kind") or "")
    if e["version"].startswith("audit.k8s.io"): continue  # config-file API, never a served object
    if comp=="kubernetes" and k in rows:
        r=rows[k]
        if not r["repl"] and e.get("replacement-api"): r["repl"]=e["replacement-api"]
        r["avail"]=r["avail"] or v(e.get("replacement-available-in",""))
        continue
    if comp=="kubernetes" and k in life:
        continue  # lifecycle says it is not deprecated: k8s data wins
    repl=e.get("replacement-api") or ""
    if e["version"].startswith("acme.cert-manager.io") and repl=="cert-manager.io/v1": repl="acme.cert-manager.io/v1"
    rows[k]=dict(component=comp,dep=v(e["deprecated-in"]),rm=v(e.get("removed-in","")),repl=repl,avail=v(e.get("replacement-available-in","")),src="pluto")
# flowcontrol "FlowControl" bogus kind in pluto: drop
rows.pop(("flowcontrol.apiserver.k8s.io/v1beta1","FlowControl"),None)
# pluto's istio entry names a group without a version and a plural kind: it can never match an object
rows.pop(("rbac.istio.io","AuthorizationPolicies"),None)
# fixes from the deprecation guide (domain facts 1.1): replacements for guide rows without lifecycle replacement
guide_repl={("flowcontrol.apiserver.k8s.io/v1beta3","FlowSchema"):"flowcontrol.apiserver.k8s.io/v1",("flowcontrol.apiserver.k8s.io/v1beta3","PriorityLevelConfiguration"):"flowcontrol.apiserver.k8s.io/v1",
 ("events.k8s.io/v1beta1","Event"):"events.k8s.io/v1"}
for k,r in guide_repl.items():
    if k in rows and not rows[k]["repl"]: rows[k]["repl"]=r
rows[("settings.k8s.io/v1alpha1","PodPreset")]=dict(component="kubernetes",dep="1.19",rm="1.20",repl="",avail="",src="kubernetes/kubernetes#94090 (no replacement: use a mutating admission webhook)")
rows[("batch/v2alpha1","CronJob")]=dict(component="kubernetes",dep="1.8",rm="1.21",repl="batch/v1",avail="1.21",src="deprecation guide")
# Flux
cur=None; seen={}  # (gv,kind) -> {release: dep?}
storage={}
releases=[]
for line in open(D+"flux-crd-versions-by-release.txt"):
    m=re.match(r"=== Flux v(\d+\.\d+)",line)
    if m: cur=m.group(1); releases.append(cur); continue
    m=re.match(r"\s+(\S+\.fluxcd\.io) (\w+): (.*)",line)
    if not m: continue
    g,kind,vs=m.groups()
    for tok in vs.split():
        ver=tok.rstrip("*").replace("(dep)","")
        seen.setdefault((f"{g}/{ver}",kind),{})[cur]=tok.endswith("(dep)")
        if tok.endswith("*"): storage[(g,kind,cur)]=f"{g}/{ver}"
last=releases[-1]
for (gv,kind),rel in seen.items():
    g=gv.split("/")[0]
    deps=[r for r in releases if rel.get(r)]
    present=[r for r in releases if r in rel]
    after=[r for r in releases if key(r)>key(present[-1])]
    rm=after[0] if after else ""
    dep=deps[0] if deps else (rm if rm else "")
    if not dep: continue
    if storage.get((g,kind,present[-1]))==gv: continue  # storage version that vanished from the listing: a gap in the source, not a removal
    repl=next(storage[(g,kind,r)] for r in reversed(releases) if (g,kind,r) in storage)
    rows[(gv,kind)]=dict(component="flux",dep=dep,rm=rm,repl=repl,avail="",src="Flux controller CRDs per release")
# avail for flux: first release where replacement present
for (gv,kind),r in rows.items():
    if r["component"]=="flux" and r["repl"]:
        rel=seen.get((r["repl"],kind),{})
        r["avail"]=next((x for x in releases if x in rel),"2.0")
for g,kinds,old,new in [("source.toolkit.fluxcd.io",["GitRepository","HelmRepository","HelmChart","Bucket"],"v1alpha1","v1"),
    ("kustomize.toolkit.fluxcd.io",["Kustomization"],"v1alpha1","v1"),("helm.toolkit.fluxcd.io",["HelmRelease"],"v2alpha1","v2"),
    ("notification.toolkit.fluxcd.io",["Alert","Provider"],"v1alpha1","v1beta3"),("notification.toolkit.fluxcd.io",["Receiver"],"v1alpha1","v1"),
    ("image.toolkit.fluxcd.io",["ImageRepository","ImagePolicy","ImageUpdateAutomation"],"v1alpha1","v1"),
    ("image.toolkit.fluxcd.io",["ImageRepository","ImagePolicy","ImageUpdateAutomation"],"v1alpha2","v1")]:
    for kind in kinds:
        rows[(f"{g}/{old}",kind)]=dict(component="flux",dep="2.0",rm="2.0",repl=f"{g}/{new}",avail="",src="not served by any Flux 2.x release")
# Cilium (domain facts 4.7)
rows[("cilium.io/v2alpha1","CiliumBGPPeeringPolicy")]=dict(component="cilium",dep="1.18",rm="1.19",repl="cilium.io/v2",avail="1.18",src="cilium/cilium#38397 #42278 (BGPv1 → CiliumBGPClusterConfig/PeerConfig/Advertisement)")
rows[("cilium.io/v2alpha1","CiliumLoadBalancerIPPool")]=dict(component="cilium",dep="1.19",rm="",repl="cilium.io/v2",avail="1.18",src="Cilium 1.19 upgrade notes")
rows[("cilium.io/v2alpha1","CiliumNodeConfig")]=dict(component="cilium",dep="1.19",rm="",repl="cilium.io/v2",avail="1.16",src="Cilium 1.19 upgrade notes")
for kind in ["CiliumBGPClusterConfig","CiliumBGPPeerConfig","CiliumBGPAdvertisement","CiliumBGPNodeConfig","CiliumBGPNodeConfigOverride"]:
    rows[("cilium.io/v2alpha1",kind)]=dict(component="cilium",dep="1.18",rm="",repl="cilium.io/v2",avail="1.18",src="BGPv2 CRDs promoted to cilium.io/v2 in 1.18 (cilium/cilium#38397)")
for k in [k for k in rows if k[1].endswith("List")]: rows.pop(k)
for r in rows.values():
    if not r["dep"]: r["dep"]=r["rm"]
# domain facts 1.2/1.3: replacements the lifecycle tags leave empty (Kubernetes data wins over pluto's v1beta2 for resource.k8s.io)
for (gv,kind),r in rows.items():
    if gv.startswith("resource.k8s.io/v1beta") and kind in ("DeviceClass","ResourceClaim","ResourceClaimTemplate","ResourceSlice"): r["repl"],r["avail"]="resource.k8s.io/v1","1.34"
    if gv.startswith("admissionregistration.k8s.io/") and "ValidatingAdmissionPolicy" in kind: r["repl"],r["avail"]="admissionregistration.k8s.io/v1","1.30"
    if gv.startswith("admissionregistration.k8s.io/v1alpha1") and "MutatingAdmissionPolicy" in kind: r["repl"],r["avail"]="admissionregistration.k8s.io/v1","1.36"
    if kind=="SelfSubjectReview": r["repl"],r["avail"]="authentication.k8s.io/v1","1.28"
    if kind in ("IPAddress","ServiceCIDR"): r["repl"],r["avail"]="networking.k8s.io/v1","1.33"
order={"kubernetes":0,"flux":1,"argocd":2,"cilium":3,"cert-manager":4,"istio":5}
out=["# Deprecated and removed API versions, one row per (apiVersion, kind). Used by the deprecated-api rule.",
"# Versions are <major>.<minor> of the component's own releases (Kubernetes, Flux, Cilium, cert-manager, Istio);",
"# removed-in empty = still served; replacement empty = no drop-in replacement (see note). kind empty = every kind.",
"# Sources: Kubernetes rows from k8s.io/api zz_generated.prerelease-lifecycle.go (tag v0.36.3) and the deprecation",
"# guide, completed with FairwindsOps/pluto versions.yaml (Apache-2.0, see PLUTO-NOTICE) where Kubernetes' own data is",
"# silent; where they disagree Kubernetes' data wins. Flux rows from the CRDs each Flux minor (2.0-2.9) ships.",
"# Argo CD has no rows: its CRDs (argoproj.io/v1alpha1) never changed version. Cilium rows from upstream PRs.",
"latest:",
"  kubernetes: '1.36'","  flux: '2.9'","  argocd: '3.5'","  cilium: '1.19'","  cert-manager: '1.19'","  istio: '1.28'",
"apis:"]
for (gv,kind),r in sorted(rows.items(),key=lambda kv:(order[kv[1]["component"]],kv[0][0],kv[0][1])):
    out.append(f"- {{api-version: {gv}, kind: '{kind}', deprecated-in: '{r['dep']}', removed-in: '{r['rm']}', replacement: '{r['repl']}', replacement-available-in: '{r['avail']}', component: {r['component']}}}")
open(__import__("pathlib").Path(__file__).resolve().parent.parent/"gitops_kit"/"data"/"deprecations.yaml","w").write("\n".join(out)+"\n")
print(len(rows))

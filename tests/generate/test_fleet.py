"""Fleet allocation and input checks: pure functions, no files."""

from __future__ import annotations

import pytest

from gitops_kit.generate.fleet import Fleet, cluster_for, next_pod_cidrs, parse_fleet
from gitops_kit.generate.names import GenerateError, check_addons, check_cluster_name

POOL = ("10.96.0.0/12", "fd00:10::/48")


def fleet_of(*names: str) -> Fleet:
    fleet = Fleet("flux", *POOL)
    for name in names:
        fleet = fleet.with_cluster(cluster_for(fleet, name, ["mesh"]))
    return fleet


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("", "empty"),
        ("Cilium-001", "not a DNS label"),
        ("../etc", "path separator"),
        ("a/b", "path separator"),
        ("a\x00b", "NUL"),
        ("{{cookiecutter.x}}", "template syntax"),
        ("{%raw%}", "template syntax"),
        ("-lead", "not a DNS label"),
        ("x" * 64, "not a DNS label"),
        ("base", "reserved"),
    ],
)
def test_bad_cluster_names_are_rejected(name, fragment):
    with pytest.raises(GenerateError, match=fragment):
        check_cluster_name(name)


def test_good_name_passes():
    assert check_cluster_name("cilium-001") == "cilium-001"


def test_unknown_addon_is_named():
    with pytest.raises(GenerateError, match="unknown add-on 'mesh2'"):
        check_addons(["mesh", "mesh2"], ["mesh", "storage"])


def test_allocation_takes_next_free_id_and_cidrs():
    fleet = fleet_of("a", "b", "c")
    assert [(c.id, c.pod_cidrs) for c in fleet.clusters] == [
        (1, ("10.96.0.0/16", "fd00:10:0:1::/64")),
        (2, ("10.97.0.0/16", "fd00:10:0:2::/64")),
        (3, ("10.98.0.0/16", "fd00:10:0:3::/64")),
    ]


def test_allocation_reuses_a_gap():
    fleet = fleet_of("a", "b", "c")
    without_b = Fleet("flux", *POOL, tuple(c for c in fleet.clusters if c.name != "b"))
    d = cluster_for(without_b, "d", ["mesh"])
    assert (d.id, d.pod_cidrs) == (2, ("10.97.0.0/16", "fd00:10:0:2::/64"))


def test_existing_cluster_keeps_its_allocation():
    fleet = fleet_of("a", "b")
    again = cluster_for(fleet, "a", ["mesh", "storage"])
    assert (again.id, again.pod_cidrs) == (1, ("10.96.0.0/16", "fd00:10:0:1::/64"))


def test_colliding_id_is_rejected():
    with pytest.raises(GenerateError, match="cluster id 1 .* already used by 'a'"):
        cluster_for(fleet_of("a"), "b", ["mesh"], cluster_id="1")


def test_overlapping_cidr_is_rejected():
    with pytest.raises(GenerateError, match="overlaps 10.96.0.0/16 of 'a'"):
        cluster_for(fleet_of("a"), "b", ["mesh"], pod_cidr="10.96.128.0/17")


def test_cidr_outside_pool_is_rejected():
    with pytest.raises(GenerateError, match="outside the pool"):
        cluster_for(fleet_of(), "b", ["mesh"], pod_cidr="192.168.0.0/16")


@pytest.mark.parametrize("bad", ["0", "256", "x", "-1"])
def test_bad_cluster_id_is_rejected(bad):
    with pytest.raises(GenerateError, match="--cluster-id"):
        cluster_for(fleet_of(), "b", ["mesh"], cluster_id=bad)


def test_full_pool_is_reported():
    fleet = Fleet("flux", "10.0.0.0/16", "fd00::/63")
    fleet = fleet.with_cluster(cluster_for(fleet, "a", ["mesh"]))
    with pytest.raises(GenerateError, match="no free"):
        next_pod_cidrs(fleet)


def test_parse_fleet_rejects_inconsistent_records():
    data = {
        "flavor": "flux",
        "clusters": [
            {"name": "a", "id": 1, "pod-cidrs": ["10.96.0.0/16", "fd00:10:0:1::/64"]},
            {"name": "b", "id": 1, "pod-cidrs": ["10.97.0.0/16", "fd00:10:0:2::/64"]},
        ],
    }
    with pytest.raises(GenerateError, match="cluster id 1"):
        parse_fleet(data)

"""The one-GPU fit check against the worked examples of the MIG user guide's placement data."""

from __future__ import annotations

import pytest

from gitops_kit.rules._gpu import fit_problem, model_named, model_of_device_filter, models

A100 = "A100-40GB"


@pytest.mark.parametrize(
    "mixture",
    [
        {"4g.20gb": 1, "3g.20gb": 1},
        {"2g.10gb": 3, "1g.5gb": 1},
        {"3g.20gb": 2},
        {"1g.10gb": 4},
        {"3g.20gb": 1, "1g.10gb": 2},
        {"3g.20gb": 1, "2g.10gb": 1, "1g.5gb": 2},  # gpu-operator all-balanced
        {"1g.5gb": 7},
        {"1g.5gb+me": 1, "1g.5gb": 6},
        {"1c.3g.20gb": 2},  # compute-instance form keeps the GPU-instance geometry
    ],
)
def test_mixtures_that_fit_an_a100(mixture):
    assert fit_problem(model_named(A100), mixture) is None


@pytest.mark.parametrize(
    ("mixture", "reason"),
    [
        ({"1g.5gb": 7, "2g.10gb": 1}, "memory slices"),
        ({"1g.5gb+me": 2}, "maximum of 1"),
        ({"1g.5gb+me": 1, "1g.10gb+me": 0, "1g.5gb": 6, "3g.20gb": 0}, None),
        ({"4g.20gb": 1, "2g.10gb": 2}, "cannot be placed"),
        ({"7g.40gb": 1, "1g.5gb": 1}, "memory slices"),
        ({"2g.10gb": 2, "1g.5gb": 4}, "cannot be placed"),
        ({"1g.5gb": 8}, "maximum of 7"),
    ],
)
def test_mixtures_that_do_not_fit_an_a100(mixture, reason):
    problem = fit_problem(model_named(A100), {k: v for k, v in mixture.items() if v})
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem


def test_two_media_instances_of_different_profiles_do_not_fit_an_a30():
    problem = fit_problem(model_named("A30"), {"1g.6gb+me": 1, "2g.12gb+me": 1})
    assert problem is not None and "+me" in problem


def test_every_model_is_known_with_a_full_gpu_profile():
    names = {m.name for m in models().values()}
    assert names == {"A100-40GB", "A100-80GB", "A30", "H100-80GB", "H100-94GB", "H100-96GB", "H200-141GB"}
    for model in models().values():
        whole = [p for p in model.profiles.values() if p.memory_slices == model.memory_slices]
        assert len(whole) == 1 and fit_problem(model, {whole[0].name: 1}) is None


def test_device_filter_selects_the_model_and_aliases_resolve():
    assert model_of_device_filter("0x20B010DE").name == "A100-40GB"
    assert model_of_device_filter(["0x20b710de"]).name == "A30"
    assert model_of_device_filter(["0x20B010DE", "0x20B710DE"]) is None  # two models: no guess
    assert model_named("h200").name == "H200-141GB"
    assert model_named("A100-40gb").name == A100

"""NVIDIA GPU sharing helpers: MIG geometry (from `data/mig-geometry.yaml`), the one-GPU fit check,
and finding the mig-parted / device-plugin configs embedded in ConfigMaps."""

from __future__ import annotations

from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

MODEL_ANNOTATION = "gitops-kit.io/gpu-model"
#: `[<c>c.]<g>g.<mem>gb[+attr…]`: the compute-instance prefix does not change the GPU-instance geometry
_COMPUTE_PREFIX = r"^\d+c\.(?=\d+g\.)"


class Profile:
    """One MIG profile of a GPU model (plain slotted record: dataclasses cost start-up time)."""

    __slots__ = ("name", "memory_slices", "starts", "max")

    def __init__(self, name: str, memory_slices: int, starts: tuple[int, ...], max: int) -> None:  # noqa: A002
        self.name = name
        self.memory_slices = memory_slices
        self.starts = starts
        self.max = max

    @property
    def media(self) -> bool:
        return "+me" in self.name


class GpuModel:
    __slots__ = ("name", "memory_slices", "profiles", "pci_device_ids")

    def __init__(self, name: str, memory_slices: int, profiles: Mapping[str, Profile], pci_device_ids: frozenset[str]) -> None:
        self.name = name
        self.memory_slices = memory_slices
        self.profiles = profiles
        self.pci_device_ids = pci_device_ids


@lru_cache(maxsize=1)
def models() -> dict[str, GpuModel]:
    """Model name (and alias), upper-cased → geometry."""
    from ._yaml import data_table

    raw = data_table("mig-geometry.yaml")
    found: dict[str, GpuModel] = {}
    for name, spec in raw["models"].items():
        profiles = {
            key: Profile(key, int(p["memory-slices"]), tuple(int(s) for s in p["starts"]), int(p["max"]))
            for key, p in spec["profiles"].items()
        }
        model = GpuModel(name, int(spec["memory-slices"]), profiles, frozenset(str(i).upper() for i in spec.get("pci-device-ids", [])))
        for alias in (name, *spec.get("aliases", [])):
            found[str(alias).upper()] = model
    return found


def model_named(name: Any) -> GpuModel | None:
    return models().get(name.strip().upper()) if isinstance(name, str) else None


def model_of_device_filter(device_filter: Any) -> GpuModel | None:
    """The one model a mig-parted `device-filter` (PCI id or list of ids) selects, if it selects exactly one."""
    ids = device_filter if isinstance(device_filter, list) else [device_filter]
    wanted = {str(i).upper() for i in ids if isinstance(i, str)}
    if not wanted:
        return None
    matching = {m.name: m for m in models().values() if wanted & m.pci_device_ids}
    return next(iter(matching.values())) if len(matching) == 1 else None


def geometry_name(profile: str) -> str:
    import re  # compiled once, on first use, by re's own cache

    return re.sub(_COMPUTE_PREFIX, "", profile.strip())


def fit_problem(model: GpuModel, devices: Mapping[str, int]) -> str | None:
    """Why this mixture of GPU instances cannot live on one GPU of `model`, or None when it fits.

    (a) each profile within its per-GPU maximum, (b) at most one `+me` instance, (c) every instance gets a
    start slot from its valid set so that memory-slice intervals do not overlap (MIG user guide, -lgipp).
    """
    instances: list[Profile] = []
    for name, count in devices.items():
        profile = model.profiles[geometry_name(name)]
        if count > profile.max:
            return f"{count} x {name} exceeds the maximum of {profile.max} per {model.name} GPU"
        instances.extend([profile] * count)
    media = sum(1 for p in instances if p.media)
    if media > 1:
        return f"{media} instances with media extensions (+me); a GPU has media engines for only one"
    used = sum(p.memory_slices for p in instances)
    if used > model.memory_slices:
        return f"needs {used} memory slices; a {model.name} GPU has {model.memory_slices}"
    # largest first, as the driver places them; backtracking over at most 7 instances is instant
    instances.sort(key=lambda p: (-p.memory_slices, p.starts))
    if not _place(instances, 0, 0):
        return "the instances cannot be placed without overlapping (no valid start slots for this mixture)"
    return None


def _place(instances: list[Profile], index: int, occupied: int) -> bool:
    if index == len(instances):
        return True
    profile = instances[index]
    for start in profile.starts:
        mask = ((1 << profile.memory_slices) - 1) << start
        if not occupied & mask and _place(instances, index + 1, occupied | mask):
            return True
    return False


def embedded_configs(data: Any, marker: str) -> Iterator[tuple[str, Any, str]]:
    """(data key, parsed value, raw text) of each ConfigMap `data` entry whose YAML has `marker` at top level."""
    if not isinstance(data, dict):
        return
    from ._yaml import loads

    for key, text in data.items():
        if not isinstance(key, str) or not isinstance(text, str) or marker not in text:
            continue
        try:
            parsed = loads(text, parse_datetime=False)
        except Exception:  # noqa: BLE001 — yaml_rs raises several error types; the rule reports it
            parsed = _UNPARSABLE
        if parsed is _UNPARSABLE or (isinstance(parsed, dict) and marker in parsed):
            yield key, parsed, text


_UNPARSABLE = object()


def unparsable(value: Any) -> bool:
    return value is _UNPARSABLE

"""Which GPUs a process may use, from CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES."""

from __future__ import annotations

from collections.abc import Sequence


def _normalise_uuid(value: str) -> str:
    text = value.strip().lower()
    if text.startswith("gpu-"):
        text = text[4:]
    return text.replace("-", "")


def select_visible(setting: str | None, uuids: Sequence[str]) -> list[int]:
    """Indices (into `uuids`, the management library's enumeration) of the visible GPUs.

    `setting` is the environment variable's value; None means unset (all GPUs). Entries are indices
    or (prefixes of) UUIDs, with or without the `GPU-` prefix. Like the CUDA runtime, parsing stops
    at the first entry that names no device (so "-1" or "" hides every GPU); duplicates are dropped.
    """
    if setting is None:
        return list(range(len(uuids)))
    known = [_normalise_uuid(u) for u in uuids]
    chosen: list[int] = []
    for entry in setting.split(","):
        entry = entry.strip()
        index = _resolve(entry, known)
        if index is None:
            break
        if index not in chosen:
            chosen.append(index)
    return chosen


def _resolve(entry: str, known: list[str]) -> int | None:
    if entry.isdigit():
        index = int(entry)
        return index if index < len(known) else None
    wanted = _normalise_uuid(entry)
    if not wanted or entry.lower().startswith("mig-"):
        return None  # MIG instances share their parent GPU's energy counter; not mapped
    matches = [i for i, uuid in enumerate(known) if uuid.startswith(wanted)]
    return matches[0] if len(matches) == 1 else None

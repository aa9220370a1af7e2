"""Supersession cleanup: after ingest has sent every message of a file version, delete the processed
objects of the same key that belong to an *older* version or to another grouping generation of this
version (docs/design.md "Exactly once per file version").

What is older is decided from the manifests alone (no AWS here: the caller passes the listing, reading
and deleting functions): every version's manifest records its ``object_tag`` (`<version tag>-<generation>`,
the part of each object name after the key hash), its ``source.ingested_at`` and the ``months`` its rides
were written to. The cleanup lists only ``processed/ride_month=M/<key hash>-`` for those months and deletes
only objects whose tag belongs to a version announced before this one (or to this version's other
generations): an object of a newer version, or one it cannot attribute, is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wildrydes_lambda.etl import naming

ListKeys = Callable[[str], Iterable[str]]
DeleteKeys = Callable[[list[str]], None]


@dataclass(frozen=True)
class Plan:
    """Which tags are stale and which months to list for them."""

    stale_tags: frozenset[str]
    months: tuple[str, ...]


def _order(manifest: dict) -> tuple[str, str]:
    source = manifest.get("source") or {}
    return (source.get("ingested_at") or "", source.get("version_id") or "null")


def plan_cleanup(current: dict, earlier: Iterable[dict], generations_before: Iterable[str]) -> Plan:
    """``current`` is this version's manifest (``object_tag``, ``months``, ``source``), ``earlier`` the other
    manifests of the key, ``generations_before`` the generations earlier attempts at this version used."""
    tag = current["object_tag"]
    version_tag = tag.rsplit("-", 1)[0]
    stale: set[str] = set()
    months: set[str] = set()
    regrouped = {f"{version_tag}-{g}" for g in generations_before if g and g != current["generation"]}
    if regrouped:  # an earlier attempt at this version grouped differently: its rides' months are ours
        stale |= regrouped
        months |= set(current.get("months") or [])
    for manifest in earlier:
        other = manifest.get("object_tag")
        if not other or other == tag or _order(manifest) >= _order(current):
            continue  # nothing written, this version itself, or a version announced later: never deleted
        stale.add(other)
        months |= set(manifest.get("months") or [])
    return Plan(frozenset(stale), tuple(sorted(months)))


def stale_keys(keys: Iterable[str], key_hash: str, stale_tags: frozenset[str]) -> list[str]:
    out = []
    for key in keys:
        name = naming.parse_object_name(key)
        if name is not None and name.key_hash == key_hash and name.tag in stale_tags:
            out.append(key)
    return out


def clean_up(
    plan: Plan, processed_prefix: str, source_key: str, list_keys: ListKeys, delete: DeleteKeys
) -> int:
    """Delete the stale objects of ``plan``; returns how many. One listing per month of the plan."""
    if not plan.stale_tags:
        return 0
    key_hash = naming.source_key_hash(source_key)
    deleted = 0
    for month in plan.months:
        doomed = stale_keys(
            list_keys(naming.source_month_prefix(processed_prefix, month, source_key)),
            key_hash,
            plan.stale_tags,
        )
        if doomed:
            delete(doomed)
            deleted += len(doomed)
    return deleted

"""A memory-lean table of the ride ids kept from one input file, each with a fingerprint of its values.

A Python ``dict`` of 1M ride-id strings costs ~100 MB, too much next to everything else in a 256 MB
function. Here each id is reduced to its first 64 bits and kept in an open-addressing hash table backed
by ``array('Q')``, with a 64-bit fingerprint of the ride's normalized values in a parallel array: 16 bytes
per slot at a load factor <= 1/2, i.e. ~32 MB for 1M rides. The table starts small and grows only with
the rides actually kept (never from a count the file claims), so its memory is bounded by the valid
rides, not by the items in the file. Two different rides share a 64-bit prefix with probability
~n^2 / 2^65 (3e-8 for a million rides), accepted.
"""

from __future__ import annotations

import hashlib
from array import array
from enum import Enum

_EMPTY = 0  # slot marker; a real key of 0 is stored as 1 (costs one bit of the 64, harmless)
_INITIAL_SLOTS = 1024
_MAX_LOAD_NUMERATOR, _MAX_LOAD_DENOMINATOR = 1, 2  # grow when more than half full
_FINGERPRINT_BYTES = 8


def _zeros(slots: int) -> array:
    # Repetition allocates the array once (array("Q", bytes(n)) would hold a same-size temporary too).
    return array("Q", [_EMPTY]) * slots


def _key(ride_id: str) -> int:
    return int(ride_id[:16], 16) or 1


def fingerprint(encoded_ride: str) -> int:
    """64-bit digest of a ride's canonical encoding (contracts.envelope.encode_ride)."""
    digest = hashlib.blake2b(encoded_ride.encode("utf-8"), digest_size=_FINGERPRINT_BYTES).digest()
    return int.from_bytes(digest, "big")


class Seen(Enum):
    NEW = "new"  # first time: keep the ride
    SAME = "same"  # the same id with the same values: a plain duplicate, dropped and counted
    CONFLICT = "conflict"  # the same id with other values: quarantined as DUPLICATE_CONFLICT


class RideTable:
    """Insert-only map ride id (32-hex string from rides.ride_id) -> fingerprint of its values."""

    def __init__(self) -> None:
        self._keys, self._values = _zeros(_INITIAL_SLOTS), _zeros(_INITIAL_SLOTS)
        self._mask = _INITIAL_SLOTS - 1
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._keys.itemsize * len(self._keys) + self._values.itemsize * len(self._values)

    def add(self, ride_id: str, value_fingerprint: int) -> Seen:
        key, keys, mask = _key(ride_id), self._keys, self._mask
        slot = key & mask  # linear probing; the key's low bits are already uniform (from sha256)
        while keys[slot] != _EMPTY:
            if keys[slot] == key:
                return Seen.SAME if self._values[slot] == value_fingerprint else Seen.CONFLICT
            slot = (slot + 1) & mask
        keys[slot], self._values[slot] = key, value_fingerprint
        self._size += 1
        if self._size * _MAX_LOAD_DENOMINATOR > len(keys) * _MAX_LOAD_NUMERATOR:
            self._grow()
        return Seen.NEW

    def __contains__(self, ride_id: str) -> bool:
        key, keys, mask = _key(ride_id), self._keys, self._mask
        slot = key & mask
        while keys[slot] != _EMPTY:
            if keys[slot] == key:
                return True
            slot = (slot + 1) & mask
        return False

    def _grow(self) -> None:
        old_keys, old_values = self._keys, self._values
        slots = 2 * len(old_keys)
        self._keys, self._values = _zeros(slots), _zeros(slots)
        self._mask = slots - 1
        keys, values, mask = self._keys, self._values, self._mask
        for key, value in zip(old_keys, old_values, strict=True):
            if key != _EMPTY:
                slot = key & mask
                while keys[slot] != _EMPTY:
                    slot = (slot + 1) & mask
                keys[slot], values[slot] = key, value

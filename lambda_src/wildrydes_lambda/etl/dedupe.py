"""A memory-lean set of ride ids for dropping duplicate rides within one input file.

A Python ``set`` of 1M ride-id strings costs ~100 MB, too much next to everything else in a 256 MB
function. Here each id is reduced to its first 64 bits and kept in an open-addressing hash table backed
by ``array('Q')``: 8 bytes per slot at a load factor <= 1/2, i.e. ~16 MB for 1M rides. Two different
rides share a 64-bit prefix with probability ~n^2 / 2^65 (3e-8 for a million rides), accepted.
"""

from __future__ import annotations

from array import array

_EMPTY = 0  # slot marker; a real key of 0 is stored as 1 (costs one bit of the 64, harmless)
_INITIAL_SLOTS = 1024
_MAX_LOAD_NUMERATOR, _MAX_LOAD_DENOMINATOR = 1, 2  # grow when more than half full


def _key(ride_id: str) -> int:
    return int(ride_id[:16], 16) or 1


class RideIdSet:
    """Insert-only set of ride ids (32-hex strings from rides.ride_id)."""

    def __init__(self, expected: int = 0) -> None:
        slots = _INITIAL_SLOTS
        while slots * _MAX_LOAD_NUMERATOR < expected * _MAX_LOAD_DENOMINATOR:
            slots *= 2
        self._table = array("Q", bytes(8 * slots))
        self._mask = slots - 1
        self._size = 0

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._table.itemsize * len(self._table)

    def add(self, ride_id: str) -> bool:
        """Insert; True when the id was new, False when it was already present (a duplicate)."""
        key = _key(ride_id)
        if self._insert(self._table, self._mask, key):
            self._size += 1
            if self._size * _MAX_LOAD_DENOMINATOR > len(self._table) * _MAX_LOAD_NUMERATOR:
                self._grow()
            return True
        return False

    def __contains__(self, ride_id: str) -> bool:
        key, table, mask = _key(ride_id), self._table, self._mask
        slot = key & mask
        while table[slot] != _EMPTY:
            if table[slot] == key:
                return True
            slot = (slot + 1) & mask
        return False

    @staticmethod
    def _insert(table: array, mask: int, key: int) -> bool:
        # Linear probing; the key's low bits are already uniform (they come from sha256).
        slot = key & mask
        while True:
            current = table[slot]
            if current == _EMPTY:
                table[slot] = key
                return True
            if current == key:
                return False
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old = self._table
        self._table = array("Q", bytes(8 * len(old) * 2))
        self._mask = len(self._table) - 1
        for key in old:
            if key != _EMPTY:
                self._insert(self._table, self._mask, key)

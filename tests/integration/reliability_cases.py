"""The bad ride inputs of the reliability suite (issue 8) with their documented outcomes.

Pure data, no AWS: each :class:`Case` is one uploaded object plus what docs/design.md says must happen to
it. Expected counts are written out by hand from the input built here (never computed with the ETL
library), so a change in the pipeline's behaviour makes the suite fail.

Every ride of a run is named ``rel.<run>.<case>.<n>``: a processed CSV row is attributed to its case by
that name, so cases can share one deployment and one wait, and runs on a reused emulator never mix.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Where valid rides start: inside the NYC service area (docs/design.md), near the ground stations.
BASE_LAT, BASE_LON = 40.75, -73.95
POSITION_STEP = 0.0001  # degrees between consecutive rides: ~11 m, stays in the area for 1M rides (mod)
POSITIONS_PER_AXIS = 1000
BASE_TIME = datetime(2024, 3, 1, 8, 0, 0)
RIDE_SPACING = timedelta(seconds=1)  # a 1M-ride file spans ~11.6 days -> several ride_date partitions

# Large-file pattern (both sizes): every LARGE_BAD_EVERY-th ride has a negative distance, and after every
# LARGE_DUP_EVERY-th ride the same ride is repeated once.
LARGE_BAD_EVERY = 1000
LARGE_DUP_EVERY = 500

# Hostile-input cases (issue 14).
DEEP_RECORD_LEVELS = 1000  # below the file's nesting cap (1,024), deep enough for Python's recursion limit
ZEROS = 10_000_000  # a 20 MB file; more items than ingest's item cap (2,000,000)
LONG_KEY_BYTES = 1015  # + "manifests/" and ".json" is over S3's 1,024-byte key limit
MAX_DISTANCE_MILES = 1000  # docs/design.md "Ride data": the bound of a real ride's distance
# Rider names that only read back when the CSV quoting and the Glue table's SerDe agree (after the prefix).
HOSTILE_NAME_TAILS = (
    "back\\slash\\",
    "\\",
    'quo"te',
    '"',
    'a\\"b',
    "com,ma",
    "=1+1",
    '=HYPERLINK("x")',
    'end\\",x',
    " padded ",
)

REQUIRED = ("Name", "StatusTime", "Latitude", "Longitude", "Distance", "HealthPoints", "MagicPoints")


@dataclass(frozen=True)
class Expect:
    """What the manifest (and so processed/ and quarantine/) must say about one file."""

    valid: int = 0
    duplicates: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    file_reason: str | None = None

    @property
    def quarantined(self) -> int:
        return sum(self.reasons.values())


@dataclass
class Case:
    id: str
    kind: str  # the bad input, as the table shows it
    outcome: str  # the documented outcome
    body: bytes
    rides_in: int  # ride records the file holds (the "in" of the count invariant)
    expect: Expect
    prefix: str = "raw/"  # upload prefix; ingest only reads raw/*.json
    suffix: str = ".json"
    ingested: bool = True  # False: the pipeline must ignore the object (no manifest, nothing written)
    # Names of processed rides that must read back identically through the SerDe's rules and DuckDB.
    names_read_back: tuple[str, ...] = ()
    # (reason, record) pairs that must appear in the case's quarantine lines with the record exactly as sent.
    quarantined_records: tuple[tuple[str, dict], ...] = ()
    key_bytes: int | None = None  # the key is padded to exactly this many UTF-8 bytes

    def key(self, run: str) -> str:
        key = f"{self.prefix}reliability/{run}/{self.id}{self.suffix}"
        if self.key_bytes is None:
            return key
        pad = self.key_bytes - len(key.encode("utf-8"))
        assert pad >= 0, f"{self.id}: key already longer than {self.key_bytes} bytes"
        return f"{self.prefix}reliability/{run}/{self.id}{'k' * pad}{self.suffix}"


class Rides:
    """Valid rides of one case, numbered; ``ride(n, **changes)`` alters or drops (value ``DROP``) fields."""

    DROP = object()

    def __init__(self, run: str, case: str) -> None:
        self.prefix = f"rel.{run}.{case}."

    def ride(self, n: int, **changes) -> dict:
        at = BASE_TIME + n * RIDE_SPACING
        ride = {
            "Name": f"{self.prefix}{n}",
            "StatusTime": f"{at:%Y-%m-%d %H:%M:%S}.{n % 1000:03d}",
            "Latitude": round(BASE_LAT + (n % POSITIONS_PER_AXIS) * POSITION_STEP, 6),
            "Longitude": round(BASE_LON + (n // POSITIONS_PER_AXIS % POSITIONS_PER_AXIS) * POSITION_STEP, 6),
            "Distance": round(1.0 + (n % 37) * 0.25, 2),
            "HealthPoints": 100 + n % 50,
            "MagicPoints": 40 + n % 90,
        }
        for name, value in changes.items():
            if value is Rides.DROP:
                ride.pop(name, None)
            else:
                ride[name] = value
        return ride


def _doc(value) -> bytes:
    return json.dumps(value).encode("utf-8")


def attribute(name: str, run: str) -> str | None:
    """The case a processed row belongs to (from its ride name), or None when it is not from this run."""
    parts = name.split(".", 3)
    if len(parts) >= 3 and parts[0] == "rel" and parts[1] == run:
        return parts[2]
    return None


# ------------------------------------------------------------------------------------------- large file
def large_file_chunks(run: str, n_rides: int) -> Iterator[bytes]:
    """A {"travel_data": [...]} file of ``n_rides`` records, streamed in chunks (1M rides ~ 190 MB)."""
    rides = Rides(run, "large")
    yield b'{"travel_data": ['
    batch: list[str] = []
    written = 0
    n = 0
    while written < n_rides:
        record = rides.ride(n, Distance=-1) if n % LARGE_BAD_EVERY == LARGE_BAD_EVERY - 1 else rides.ride(n)
        batch.append(json.dumps(record))
        written += 1
        if n % LARGE_DUP_EVERY == LARGE_DUP_EVERY - 1 and written < n_rides:
            batch.append(json.dumps(record))  # the same ride again: dropped as a duplicate (or bad twice)
            written += 1
        n += 1
        if len(batch) >= 10_000:
            yield (", " if written > len(batch) else "").encode() + ", ".join(batch).encode()
            batch = []
    if batch:
        yield (", " if written > len(batch) else "").encode() + ", ".join(batch).encode()
    yield b"]}"


def large_expect(n_rides: int) -> Expect:
    """Counts of :func:`large_file_chunks`, from its pattern (not from the ETL code)."""
    bad = dup = valid = written = n = 0
    while written < n_rides:
        is_bad = n % LARGE_BAD_EVERY == LARGE_BAD_EVERY - 1
        copies = 1
        written += 1
        if n % LARGE_DUP_EVERY == LARGE_DUP_EVERY - 1 and written < n_rides:
            copies, written = 2, written + 1
        if is_bad:
            bad += copies  # a bad ride is rejected each time it appears, before any duplicate check
        else:
            valid += 1
            dup += copies - 1
        n += 1
    return Expect(valid=valid, duplicates=dup, reasons={"NON_POSITIVE_DISTANCE": bad} if bad else {})


# ------------------------------------------------------------------------------------------- the cases
def bad_input_cases(run: str) -> list[Case]:
    cases: list[Case] = []

    def add(case_id: str, kind: str, outcome: str, body: bytes, rides_in: int, expect: Expect, **extra):
        cases.append(Case(case_id, kind, outcome, body, rides_in, expect, **extra))

    def r(case_id: str) -> Rides:
        return Rides(run, case_id)

    # -- controls: the accepted shapes
    c = r("control")
    add(
        "control",
        'valid file (control): {"travel_data": [3 rides]}',
        "all processed",
        _doc({"travel_data": [c.ride(i) for i in range(3)]}),
        3,
        Expect(valid=3),
    )
    c = r("barelist")
    add(
        "barelist",
        "bare list [ride, ...] instead of an object",
        "accepted shape: all processed",
        _doc([c.ride(i) for i in range(2)]),
        2,
        Expect(valid=2),
    )

    # -- whole-file rejects
    add(
        "notjson",
        "not JSON (plain text)",
        "whole file quarantined: NOT_JSON",
        b"this is not json {",
        0,
        Expect(file_reason="NOT_JSON"),
    )
    c = r("truncated")
    add(
        "truncated",
        "truncated JSON (upload cut off mid-ride)",
        "whole file quarantined: NOT_JSON",
        _doc({"travel_data": [c.ride(i) for i in range(3)]})[:-12],
        3,
        Expect(file_reason="NOT_JSON"),
    )
    add("empty", "empty file (0 bytes)", "quarantined: EMPTY_FILE", b"", 0, Expect(file_reason="EMPTY_FILE"))
    add(
        "whitespace",
        "whitespace-only file",
        "quarantined: EMPTY_FILE",
        b" \n\t\r\n ",
        0,
        Expect(file_reason="EMPTY_FILE"),
    )
    c = r("notravel")
    add(
        "notravel",
        'object without travel_data ({"rides": [...]})',
        "whole file quarantined: WRONG_SHAPE",
        _doc({"rides": [c.ride(i) for i in range(2)]}),
        2,
        Expect(file_reason="WRONG_SHAPE"),
    )
    add(
        "number",
        "a number as the whole file (42)",
        "quarantined: WRONG_SHAPE",
        b"42",
        0,
        Expect(file_reason="WRONG_SHAPE"),
    )
    c = r("tdobject")
    add(
        "tdobject",
        "travel_data is an object, not a list",
        "whole file quarantined: WRONG_SHAPE",
        _doc({"travel_data": c.ride(0)}),
        1,
        Expect(file_reason="WRONG_SHAPE"),
    )
    c = r("twotd")
    add(
        "twotd",
        "two travel_data keys (travel_data + Travel_Data)",
        "whole file quarantined: WRONG_SHAPE",
        b'{"travel_data": [' + _doc(c.ride(0)) + b'], "Travel_Data": [' + _doc(c.ride(1)) + b"]}",
        2,
        Expect(file_reason="WRONG_SHAPE"),
    )
    c = r("nantoken")
    add(
        "nantoken",
        "bare NaN / Infinity tokens in numbers",
        "whole file quarantined: NOT_JSON",
        _doc({"travel_data": [c.ride(0), c.ride(1)]})
        .replace(b'"Distance": 1.0', b'"Distance": NaN', 1)
        .replace(b'"Distance": 1.25', b'"Distance": Infinity', 1),
        2,
        Expect(file_reason="NOT_JSON"),
    )
    c = r("hugenum")
    add(
        "hugenum",
        "number beyond double range (1e400)",
        "whole file quarantined: NOT_JSON",
        _doc({"travel_data": [c.ride(0)]}).replace(b'"Distance": 1.0', b'"Distance": 1e400', 1),
        1,
        Expect(file_reason="NOT_JSON"),
    )
    c = r("utf16")
    add(
        "utf16",
        "UTF-16 encoded file (with BOM)",
        "whole file quarantined: NOT_UTF8",
        json.dumps({"travel_data": [c.ride(0), c.ride(1)]}).encode("utf-16"),
        2,
        Expect(file_reason="NOT_UTF8"),
    )
    c = r("latin1")
    add(
        "latin1",
        "non-UTF-8 bytes (Latin-1 \xe9 in a name)",
        "whole file quarantined: NOT_UTF8",
        json.dumps(
            {"travel_data": [c.ride(0, Name=c.prefix + "caf\u00e9"), c.ride(1)]}, ensure_ascii=False
        ).encode("latin-1"),
        2,
        Expect(file_reason="NOT_UTF8"),
    )

    # -- accepted encodings and shapes
    c = r("bom")
    add(
        "bom",
        "UTF-8 BOM before the JSON",
        "BOM skipped: all processed",
        codecs.BOM_UTF8 + _doc({"travel_data": [c.ride(i) for i in range(2)]}),
        2,
        Expect(valid=2),
    )
    c = r("nested")
    add(
        "nested",
        "nested lists ([[ride, ride], [ride]])",
        "each inner list quarantined whole: NOT_AN_OBJECT",
        _doc([[c.ride(0), c.ride(1)], [c.ride(2)]]),
        2,
        Expect(reasons={"NOT_AN_OBJECT": 2}),
    )
    c = r("scalars")
    add(
        "scalars",
        'non-object rides (5, "x", null, true) beside a good one',
        "non-objects quarantined: NOT_AN_OBJECT; good ride processed",
        _doc({"travel_data": [5, "x", None, True, c.ride(0)]}),
        5,
        Expect(valid=1, reasons={"NOT_AN_OBJECT": 4}),
    )

    # -- per-ride field problems
    c = r("missing")
    add(
        "missing",
        "missing fields (each of the 7 required fields once)",
        "quarantined: MISSING_FIELD; good ride processed",
        _doc({"travel_data": [c.ride(i, **{f: Rides.DROP}) for i, f in enumerate(REQUIRED)] + [c.ride(99)]}),
        8,
        Expect(valid=1, reasons={"MISSING_FIELD": 7}),
    )
    c = r("nulls")
    add(
        "nulls",
        "null fields (each of the 7 required fields once)",
        "quarantined: NULL_FIELD; good ride processed",
        _doc({"travel_data": [c.ride(i, **{f: None}) for i, f in enumerate(REQUIRED)] + [c.ride(99)]}),
        8,
        Expect(valid=1, reasons={"NULL_FIELD": 7}),
    )
    c = r("blankname")
    add(
        "blankname",
        "empty or blank Name",
        "quarantined: EMPTY_FIELD; good ride processed",
        _doc({"travel_data": [c.ride(0, Name=""), c.ride(1, Name="   "), c.ride(2)]}),
        3,
        Expect(valid=1, reasons={"EMPTY_FIELD": 2}),
    )
    c = r("numstr")
    add(
        "numstr",
        'numbers as strings ("40.75", "2.5"; and "2.5 miles", "")',
        "parseable strings accepted; others quarantined: NOT_A_NUMBER",
        _doc(
            {
                "travel_data": [
                    c.ride(
                        0,
                        Latitude="40.7512",
                        Longitude="-73.9501",
                        Distance="2.5",
                        HealthPoints="100",
                        MagicPoints="60",
                    ),
                    c.ride(1, Distance=" 3 ", MagicPoints="1e2"),
                    c.ride(2, Distance="2.5 miles"),
                    c.ride(3, HealthPoints=""),
                ]
            }
        ),
        4,
        Expect(valid=2, reasons={"NOT_A_NUMBER": 2}),
    )
    c = r("nanstr")
    add(
        "nanstr",
        'NaN / Infinity as strings ("NaN", "Infinity", "-inf")',
        "quarantined: NON_FINITE",
        _doc(
            {
                "travel_data": [
                    c.ride(0, Distance="NaN"),
                    c.ride(1, Latitude="Infinity"),
                    c.ride(2, MagicPoints="-inf"),
                    c.ride(3),
                ]
            }
        ),
        4,
        Expect(valid=1, reasons={"NON_FINITE": 3}),
    )
    c = r("wrongtype")
    add(
        "wrongtype",
        "wrong JSON types (true, [40.7], {...}, 12345 as Name)",
        "quarantined: WRONG_TYPE",
        _doc(
            {
                "travel_data": [
                    c.ride(0, Distance=True),
                    c.ride(1, Latitude=[40.7]),
                    c.ride(2, Name={"first": "x"}),
                    c.ride(3, Name=12345),
                    c.ride(4),
                ]
            }
        ),
        5,
        Expect(valid=1, reasons={"WRONG_TYPE": 4}),
    )
    c = r("distance")
    add(
        "distance",
        'zero or negative distance (0, -1.5, "-0")',
        "quarantined: NON_POSITIVE_DISTANCE",
        _doc(
            {
                "travel_data": [
                    c.ride(0, Distance=0),
                    c.ride(1, Distance=-1.5),
                    c.ride(2, Distance="-0"),
                    c.ride(3),
                ]
            }
        ),
        4,
        Expect(valid=1, reasons={"NON_POSITIVE_DISTANCE": 3}),
    )
    c = r("negpoints")
    add(
        "negpoints",
        "negative HealthPoints / MagicPoints",
        "quarantined: NEGATIVE_POINTS",
        _doc({"travel_data": [c.ride(0, HealthPoints=-1), c.ride(1, MagicPoints=-5), c.ride(2)]}),
        3,
        Expect(valid=1, reasons={"NEGATIVE_POINTS": 2}),
    )
    c = r("latlon")
    add(
        "latlon",
        "latitude/longitude out of range (95, -91; 200, -181); far away (10,10), (0,0) is valid",
        "quarantined: LAT_OUT_OF_RANGE / LON_OUT_OF_RANGE; far rides get their nearest station",
        _doc(
            {
                "travel_data": [
                    c.ride(0, Latitude=95),
                    c.ride(1, Latitude=-91),
                    c.ride(2, Longitude=200),
                    c.ride(3, Longitude=-181),
                    c.ride(4, Latitude=10, Longitude=10),
                    c.ride(5, Latitude=0, Longitude=0),
                    c.ride(6),
                ]
            }
        ),
        7,
        Expect(valid=3, reasons={"LAT_OUT_OF_RANGE": 2, "LON_OUT_OF_RANGE": 2}),
    )
    c = r("swapped")
    add(
        "swapped",
        "latitude and longitude swapped (-73.95, 40.75)",
        "quarantined: LAT_LON_SWAPPED",
        _doc({"travel_data": [c.ride(0, Latitude=-73.95, Longitude=40.75), c.ride(1)]}),
        2,
        Expect(valid=1, reasons={"LAT_LON_SWAPPED": 1}),
    )
    c = r("badtime")
    add(
        "badtime",
        'unparseable timestamps ("yesterday", 2017/05/01, no seconds, "", epoch number)',
        "quarantined: BAD_TIMESTAMP (WRONG_TYPE for a number)",
        _doc(
            {
                "travel_data": [
                    c.ride(0, StatusTime="yesterday"),
                    c.ride(1, StatusTime="2017/05/01 10:00:00"),
                    c.ride(2, StatusTime="2017-05-01 10:00"),
                    c.ride(3, StatusTime=""),
                    c.ride(4, StatusTime=1494000000),
                    c.ride(5),
                ]
            }
        ),
        6,
        Expect(valid=1, reasons={"BAD_TIMESTAMP": 4, "WRONG_TYPE": 1}),
    )
    c = r("impossible")
    add(
        "impossible",
        "impossible timestamps (Feb 30, 25:00, month 13; years 1999, 2100) + accepted variants "
        "(T separator, 6 fraction digits)",
        "quarantined: IMPOSSIBLE_TIMESTAMP / TIMESTAMP_OUT_OF_RANGE; variants processed (canonicalized)",
        _doc(
            {
                "travel_data": [
                    c.ride(0, StatusTime="2017-02-30 10:00:00.000"),
                    c.ride(1, StatusTime="2017-05-01 25:00:00"),
                    c.ride(2, StatusTime="2017-13-01 00:00:00"),
                    c.ride(3, StatusTime="1999-12-31 23:59:59.999"),
                    c.ride(4, StatusTime="2100-01-01 00:00:00"),
                    c.ride(5, StatusTime="2024-03-01T10:00:00"),
                    c.ride(6, StatusTime="2024-03-01 10:00:01.123456"),
                ]
            }
        ),
        7,
        Expect(valid=2, reasons={"IMPOSSIBLE_TIMESTAMP": 3, "TIMESTAMP_OUT_OF_RANGE": 2}),
    )

    # -- identity
    c = r("dupes")
    add(
        "dupes",
        "duplicate rides (same identity 3x, 2x; one repeat with another Distance; one with "
        "numbers as strings)",
        "processed once; exact repeats dropped and counted as duplicates; the repeat with another Distance "
        "quarantined: DUPLICATE_CONFLICT",
        _doc(
            {
                "travel_data": [
                    c.ride(0),
                    c.ride(0),
                    c.ride(1),
                    c.ride(0),
                    c.ride(1),
                    c.ride(2),
                    c.ride(2, Distance=9.5),  # same identity (name|time|lat|lon): the first one wins
                    c.ride(1, Latitude=str(c.ride(1)["Latitude"]), Longitude=str(c.ride(1)["Longitude"])),
                ]
            }
        ),
        8,
        Expect(valid=3, duplicates=4, reasons={"DUPLICATE_CONFLICT": 1}),
    )
    c = r("samets")
    same_time = c.ride(0)["StatusTime"]
    add(
        "samets",
        "duplicate timestamps with different rides (names or positions differ)",
        "all kept",
        _doc(
            {
                "travel_data": [
                    c.ride(0),
                    c.ride(1, StatusTime=same_time),
                    c.ride(2, StatusTime=same_time),
                    c.ride(3, Name=c.ride(0)["Name"], StatusTime=same_time),
                ]
            }
        ),
        4,
        Expect(valid=4),
    )

    # -- keys
    c = r("mixedcase")
    mixed = [
        {k.upper() if i % 2 else k.lower(): v for i, (k, v) in enumerate(c.ride(n).items())} for n in range(2)
    ]
    add(
        "mixedcase",
        "mixed-case keys (NAME, statustime, ...; TRAVEL_DATA)",
        "keys matched case-insensitively: processed",
        _doc({"TRAVEL_DATA": mixed}),
        2,
        Expect(valid=2),
    )
    c = r("ambiguous")
    ambiguous = {**c.ride(0), "name": c.prefix + "other"}
    same_twice = {**c.ride(1), "NAME": c.ride(1)["Name"]}
    add(
        "ambiguous",
        "keys equal up to case (Name vs name) with different / equal values",
        "different values quarantined: AMBIGUOUS_KEY; equal values accepted",
        _doc({"travel_data": [ambiguous, same_twice, c.ride(2)]}),
        3,
        Expect(valid=2, reasons={"AMBIGUOUS_KEY": 1}),
    )
    c = r("extra")
    add(
        "extra",
        "extra unknown fields (strings, objects, lists; top-level too)",
        "ignored (dropped from the CSV, kept in raw/): processed",
        _doc(
            {
                "note": "top-level extras are ignored",
                "travel_data": [
                    {**c.ride(0), "Color": "pink", "Unicorn": {"horn": 1}},
                    {**c.ride(1), "Tags": [1, 2, 3], "ride_id": "forged"},
                ],
            }
        ),
        2,
        Expect(valid=2),
    )
    c = r("long")
    name_256 = (c.prefix + "x" * 256)[:256]
    add(
        "long",
        "very long strings (Name 257 / 100k chars, 100-digit number string; Name of exactly 256)",
        "quarantined: STRING_TOO_LONG; the 256-char name processed",
        _doc(
            {
                "travel_data": [
                    c.ride(0, Name=c.prefix + "y" * 257),
                    c.ride(1, Name=c.prefix + "z" * 100_000),
                    c.ride(2, Distance="1" + "0" * 99),
                    c.ride(3, Name=name_256),
                    c.ride(4),
                ]
            }
        ),
        5,
        Expect(valid=2, reasons={"STRING_TOO_LONG": 3}),
    )

    # -- inputs built to hurt (issue 14)
    c = r("bomb")
    depth = 14_000  # 28 KB; pass 2 of the streaming parser would need ~484 MB for it
    bomb = b"[" + _doc(c.ride(0)) + b"," + b"[" * depth + b"]" * depth + b"]"
    add(
        "bomb",
        f"nesting bomb: a ride and {depth:,} nested lists ({len(bomb):,} bytes)",
        "whole file quarantined: TOO_DEEP (pass 1), nothing sent",
        bomb,
        2,
        Expect(file_reason="TOO_DEEP"),
    )
    c = r("deeprecord")
    deep: dict = {"Name": "x"}
    for _ in range(DEEP_RECORD_LEVELS):
        deep = {"Name": deep}
    add(
        "deeprecord",
        f"a record nested {DEEP_RECORD_LEVELS:,} levels deep between good rides",
        "that record quarantined (MISSING_FIELD), the rides around it processed",
        _doc([c.ride(0), c.ride(1), deep, c.ride(2), c.ride(3)]),
        5,
        Expect(valid=4, reasons={"MISSING_FIELD": 1}),
    )
    add(
        "zeros",
        f"{ZEROS:,} zeros ([0,0,...], {2 * ZEROS / 1e6:.0f} MB)",
        "whole file quarantined: TOO_MANY_ITEMS (pass 1 stops at the item cap), nothing sent",
        b"[" + b"0," * (ZEROS - 1) + b"0]",
        ZEROS,
        Expect(file_reason="TOO_MANY_ITEMS"),
    )
    c = r("corrected")
    corrected = c.ride(1, Distance=c.ride(1)["Distance"] + 2.5)
    add(
        "corrected",
        "a ride repeated with a corrected Distance",
        "first kept; the repeat quarantined whole: DUPLICATE_CONFLICT",
        _doc({"travel_data": [c.ride(0), c.ride(1), c.ride(2), corrected]}),
        4,
        Expect(valid=3, reasons={"DUPLICATE_CONFLICT": 1}),
        quarantined_records=(("DUPLICATE_CONFLICT", corrected),),
    )
    c = r("surrogates")
    # Names as JSON escapes, verbatim in the file: a lone high surrogate, a lone low one, a proper pair.
    escaped = [
        (c.ride(0), "\\ud800x"),
        (c.ride(1), "\\udc00"),
        (c.ride(2), "\\ud83d\\ude00"),
    ]
    surrogate_rides = [
        '{"Name": "'
        + ride["Name"]
        + tail
        + '", '
        + json.dumps({k: v for k, v in ride.items() if k != "Name"})[1:]
        for ride, tail in escaped
    ]
    add(
        "surrogates",
        'lone surrogate escapes in names ("\\ud800x", "\\udc00") beside an escaped pair and a good ride',
        "those two rides quarantined: UNREPRESENTABLE_STRING; the pair kept exactly; the file not rejected",
        ('{"travel_data": [' + ", ".join(surrogate_rides) + ", " + json.dumps(c.ride(3)) + "]}").encode(),
        4,
        Expect(valid=2, reasons={"UNREPRESENTABLE_STRING": 2}),
        names_read_back=(c.ride(2)["Name"] + "\U0001f600", c.ride(3)["Name"]),
    )
    c = r("names")
    hostile = [c.prefix + tail for tail in HOSTILE_NAME_TAILS]
    newline_ride = c.ride(len(hostile), Name=c.prefix + "line\nbreak")
    add(
        "names",
        "names with backslashes, quotes, commas, a leading = (and one with a line break)",
        "read back identically through the SerDe's rules and DuckDB; the line break quarantined: "
        "NAME_CONTROL_CHARACTER",
        _doc({"travel_data": [c.ride(i, Name=name) for i, name in enumerate(hostile)] + [newline_ride]}),
        len(hostile) + 1,
        Expect(valid=len(hostile), reasons={"NAME_CONTROL_CHARACTER": 1}),
        names_read_back=tuple(hostile),
        quarantined_records=(("NAME_CONTROL_CHARACTER", newline_ride),),
    )
    c = r("bigdist")
    add(
        "bigdist",
        'Distance "1e308" (a finite double) and 1e308 as a number',
        f"quarantined: VALUE_TOO_LARGE (distance above {MAX_DISTANCE_MILES:g} miles)",
        _doc({"travel_data": [c.ride(0, Distance="1e308"), c.ride(1, Distance=1e308), c.ride(2)]}),
        3,
        Expect(valid=1, reasons={"VALUE_TOO_LARGE": 2}),
    )
    c = r("longkey")
    add(
        "longkey",
        f"a {LONG_KEY_BYTES:,}-byte key (the plain manifest key would pass S3's 1,024 bytes)",
        "processed; manifest under manifests/_by-key-hash/<sha256 of the key>, every key <= 1,024 bytes",
        _doc({"travel_data": [c.ride(0), c.ride(1)]}),
        2,
        Expect(valid=2),
        key_bytes=LONG_KEY_BYTES,
    )

    # -- objects the pipeline must ignore
    c = r("outside")
    add(
        "outside",
        ".json upload outside raw/ (incoming/...)",
        "ignored: no manifest, nothing processed or quarantined",
        _doc({"travel_data": [c.ride(0)]}),
        0,
        Expect(),
        prefix="incoming/",
        ingested=False,
    )
    c = r("csvsuffix")
    add(
        "csvsuffix",
        "raw/ upload that is no ride file (raw/....csv)",
        "recorded: manifest with file_reason UNSUPPORTED_OBJECT; nothing processed",
        _doc({"travel_data": [c.ride(0)]}),
        0,
        Expect(file_reason="UNSUPPORTED_OBJECT"),
        suffix=".csv",
    )
    return cases


def two_file_cases(run: str) -> list[Case]:
    """Two files delivered in ONE S3 notification (ingest invoked with a two-record event)."""
    a, b = Rides(run, "twofiles_a"), Rides(run, "twofiles_b")
    return [
        Case(
            "twofiles_a",
            "two files in one notification (file A)",
            "both files ingested by one invocation",
            _doc({"travel_data": [a.ride(0), a.ride(1)]}),
            2,
            Expect(valid=2),
        ),
        Case(
            "twofiles_b",
            "two files in one notification (file B)",
            "both files ingested by one invocation",
            _doc({"travel_data": [b.ride(0), b.ride(1, Distance=0)]}),
            2,
            Expect(valid=1, reasons={"NON_POSITIVE_DISTANCE": 1}),
        ),
    ]

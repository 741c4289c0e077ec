"""Whether staff are at work now, read from ``CARELINE_HOSPITAL_OPENING_HOURS``.

The setting is free text for patients, such as ``Mon-Fri 08:00-17:00`` or
``Mon-Fri 08:00-17:00; Sat 09:00-12:00``; days are English three-letter names (a range, a
list with commas, or ``daily``), times are 24-hour. Text that does not read this way counts
as always open, so a hospital that writes its hours in prose never silences the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEGMENT = re.compile(
    r"^\s*(?P<days>[A-Za-z][A-Za-z,\- ]*?)\s+"
    r"(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$"
)
END_OF_DAY = "24:00"


@dataclass(frozen=True)
class Window:
    days: frozenset[int]
    start: time
    end: time | None  # None: until midnight

    def contains(self, when: datetime) -> bool:
        if when.weekday() not in self.days:
            return False
        now = when.time()
        return self.start <= now and (self.end is None or now < self.end)


def _days(spec: str) -> frozenset[int] | None:
    spec = spec.strip().lower()
    if spec in ("daily", "every day", "mon-sun"):
        return frozenset(range(len(DAYS)))
    days: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            return None
        a = DAYS.index(first[:3])
        b = DAYS.index(last[:3]) if last else a
        span = range(a, b + 1) if a <= b else [*range(a, len(DAYS)), *range(0, b + 1)]
        days.update(span)
    return frozenset(days)


def _time(value: str) -> time | None:
    if value == END_OF_DAY:
        return None
    hours, minutes = (int(x) for x in value.split(":"))
    return time(hours, minutes)


def parse_hours(text: str) -> list[Window] | None:
    """The opening windows, or None when the text is not in the form above."""
    windows: list[Window] = []
    for segment in re.split(r"[;；]", text):
        if not segment.strip():
            continue
        match = _SEGMENT.match(segment)
        if match is None:
            return None
        days = _days(match["days"])
        try:
            start = _time(match["start"]) or time(0)
            end = _time(match["end"])
        except ValueError:
            return None
        if days is None:
            return None
        windows.append(Window(days, start, end))
    return windows or None


def is_open(text: str, when: datetime) -> bool:
    windows = parse_hours(text)
    return windows is None or any(w.contains(when) for w in windows)

"""Cron expressions for timer cycles: Camunda 7's Quartz form and the five-field Unix form.

- Quartz (Camunda `timeCycle`): `sec min hour day-of-month month day-of-week [year]`, e.g. `0 0 9 ? * MON-FRI`.
  Day-of-week counts 1-7 from Sunday (`SUN`-`SAT`); `?` means "no specific value"; `L` (last day, `L-3`,
  `6L` last Friday), `W` (nearest weekday, `15W`, `LW`) and `#` (`6#3`, third Friday) are understood.
- Unix: `min hour day-of-month month day-of-week`, day-of-week 0-7 from Sunday (0 and 7 are Sunday).

Both take `*`, lists, ranges, steps (`*/15`, `0/15`, `10-40/10`) and month and day names. When day-of-month
and day-of-week are both restricted, a day matching either fires (Unix's rule). Times are read in UTC, the
zone of every timestamp the engine stores.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
QUARTZ_DAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}
UNIX_DAYS = {name: i - 1 for name, i in QUARTZ_DAYS.items()}
# A pattern like "29 Feb on a Monday" recurs within 28 years; nothing valid takes longer.
SEARCH_DAYS = 366 * 29


class CronError(ValueError):
    """The text is not a cron expression this engine can schedule (reported at deploy)."""


DayTest = Callable[[date], bool]


@dataclass(frozen=True)
class Cron:
    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int] | None
    day_of_month: list[DayTest] = field(default_factory=list)  # empty: not restricted
    day_of_week: list[DayTest] = field(default_factory=list)

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        if self.day_of_month and self.day_of_week:
            return any(t(day) for t in self.day_of_month) or any(t(day) for t in self.day_of_week)
        tests = self.day_of_month or self.day_of_week
        return not tests or any(t(day) for t in tests)

    def next_after(self, moment: datetime) -> datetime:
        """The first time strictly after `moment` that the expression names (UTC)."""
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        day = start.date()
        for _ in range(SEARCH_DAYS):
            if self.matches_day(day):
                at = self._first_time(start.time() if day == start.date() else time(0, 0, 0))
                if at is not None:
                    return datetime.combine(day, at, UTC)
            day += timedelta(days=1)
        raise CronError(f"cron expression {self.text!r} names no time in the next {SEARCH_DAYS // 366} years")

    def _first_time(self, earliest: time) -> time | None:
        for hour in self.hours:
            if hour < earliest.hour:
                continue
            for minute in self.minutes:
                if hour == earliest.hour and minute < earliest.minute:
                    continue
                for second in self.seconds:
                    if hour == earliest.hour and minute == earliest.minute and second < earliest.second:
                        continue
                    return time(hour, minute, second)
        return None


_TOKEN = re.compile(r"^(\*|\?|L|LW|W|\d+[LW]?|[A-Za-z]{3})$")
_NAMES = set(MONTHS) | set(QUARTZ_DAYS)


def is_cron(text: str) -> bool:
    """Shaped like cron (5-7 fields of numbers, names and `* ? , - / # L W`), not a Python expression that
    happens to have five words; `parse` says whether it is valid."""
    fields = text.split()
    if not 5 <= len(fields) <= 7:
        return False
    tokens = [t for f in fields for t in re.split(r"[,/#-]", f)]
    return all(_TOKEN.match(t) and (not t.isalpha() or t.upper() in _NAMES | {"L", "LW", "W"}) for t in tokens)


def parse(text: str) -> Cron:
    fields = text.split()
    if len(fields) == 5:
        minute, hour, dom, month, dow = fields
        second, year, quartz = "0", None, False
    elif len(fields) in (6, 7):
        second, minute, hour, dom, month, dow = fields[:6]
        year, quartz = (fields[6] if len(fields) == 7 else None), True
    else:
        raise CronError(f"cron expression {text!r} needs 5 (Unix) or 6-7 (Quartz) fields, it has {len(fields)}")
    try:
        return Cron(
            text=text,
            seconds=tuple(sorted(_values(second, 0, 59))),
            minutes=tuple(sorted(_values(minute, 0, 59))),
            hours=tuple(sorted(_values(hour, 0, 23))),
            months=frozenset(_values(month, 1, 12, MONTHS)),
            years=None if year in (None, "*", "?") else frozenset(_values(year, 1970, 2199)),
            day_of_month=_day_of_month(dom),
            day_of_week=_day_of_week(dow, quartz),
        )
    except CronError as exc:
        raise CronError(f"cron expression {text!r}: {exc}") from None


def _number(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not (text.isascii() and text.isdigit()):  # '²'.isdigit() is True, int('²') fails
        raise CronError(f"{text!r} is not a number{' or a name' if names else ''}")
    return int(text)


def _values(text: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = _number(step_text, None) if step_text else 1
        if step == 0:
            raise CronError(f"step 0 in {part!r}")
        if base in ("*", "?"):
            first, last = low, high
        elif "-" in base:
            first_text, last_text = base.split("-", 1)
            first, last = _number(first_text, names), _number(last_text, names)
        else:
            first = _number(base, names)
            last = high if step_text else first
        if not (low <= first <= high and low <= last <= high):
            raise CronError(f"{part!r} is outside {low}-{high}")
        if first <= last:
            values.update(range(first, last + 1, step))
        else:  # a wrapping range such as FRI-MON or 22-2
            values.update(v for i, v in enumerate([*range(first, high + 1), *range(low, last + 1)]) if i % step == 0)
    return values


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, wanted: int) -> bool:
    """Quartz `15W`: the weekday nearest the 15th, without leaving the month."""
    last = _last_day(day)
    target = date(day.year, day.month, min(wanted, last))
    if target.weekday() == 5:
        target = target - timedelta(days=1) if target.day > 1 else target + timedelta(days=2)
    elif target.weekday() == 6:
        target = target + timedelta(days=1) if target.day < last else target - timedelta(days=2)
    return day == target


def _day_of_month(text: str) -> list[DayTest]:
    if text in ("*", "?"):
        return []
    tests: list[DayTest] = []
    for part in text.upper().split(","):
        if part == "L":
            tests.append(lambda d: d.day == _last_day(d))
        elif part.startswith("L-") and part[2:].isascii() and part[2:].isdigit():
            offset = int(part[2:])
            tests.append(lambda d, o=offset: d.day == _last_day(d) - o)
        elif part == "LW":
            tests.append(lambda d: _nearest_weekday(d, _last_day(d)))
        elif part.endswith("W") and part[:-1].isascii() and part[:-1].isdigit() and 1 <= int(part[:-1]) <= 31:
            tests.append(lambda d, n=int(part[:-1]): _nearest_weekday(d, n))
        else:
            days = _values(part, 1, 31)
            tests.append(lambda d, s=frozenset(days): d.day in s)
    return tests


def _day_of_week(text: str, quartz: bool) -> list[DayTest]:
    if text in ("*", "?"):
        return []
    names, low, high = (QUARTZ_DAYS, 1, 7) if quartz else (UNIX_DAYS, 0, 7)

    def weekday(value: int) -> int:  # Python's Monday=0 from the field's numbering
        return (value - 2) % 7 if quartz else (value - 1) % 7

    tests: list[DayTest] = []
    for part in text.upper().split(","):
        if part == "L" and quartz:
            tests.append(lambda d: d.weekday() == 5)  # Quartz: L alone is the last day of the week, Saturday
        elif part.endswith("L") and len(part) > 1:
            wanted = weekday(_number(part[:-1], names))
            tests.append(lambda d, w=wanted: d.weekday() == w and d.day + 7 > _last_day(d))
        elif "#" in part:
            day_text, _, nth_text = part.partition("#")
            wanted, nth = weekday(_number(day_text, names)), _number(nth_text, None)
            if not 1 <= nth <= 5:
                raise CronError(f"{part!r}: the week of the month must be 1-5")
            tests.append(lambda d, w=wanted, n=nth: d.weekday() == w and (d.day - 1) // 7 + 1 == n)
        else:
            days = frozenset(weekday(v) for v in _values(part, low, high, names))
            tests.append(lambda d, s=days: d.weekday() in s)
    return tests

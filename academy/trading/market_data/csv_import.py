"""Read OHLCV bars from the CSV layouts people actually have.

Handled: a header in any case (`Date`, `Time`, `Datetime`, `timestamp`, `open_time`, `Open`, `High`,
`Low`, `Close`, `Adj Close`, `Volume`, MetaTrader's `<DATE>` style, one-letter `t,o,h,l,c,v`), no
header at all (`time,o,h,l,c[,v]` or `date,time,o,h,l,c[,v]`), separate date and time columns,
ISO strings with or without an offset, unix seconds / milliseconds / microseconds, compact
`YYYYMMDD[ HHMMSS]` stamps, `,` `;` or tab separators, and decimal commas with `;`.

Naive times are read in `tz` and converted to UTC. Invalid rows are rejected with their line numbers,
duplicates keep the last line, unsorted input is sorted, and gaps for the timeframe are reported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from academy.trading.market_data.errors import CsvImportError
from academy.trading.market_data.feed import BAR_COLUMNS, bar_frame
from academy.trading.market_data.timeframes import timeframe_delta, timeframe_for

Source = Path | str | bytes | IO[str] | IO[bytes]

_TIME_NAMES = (
    "datetime",
    "date_time",
    "timestamp",
    "open_time",
    "opentime",
    "time_utc",
    "gmt_time",
    "local_time",
    "unix",
    "unix_timestamp",
    "ts",
)
_PRICE_NAMES = {
    "open": ("open", "o", "open_price", "openprice", "first"),
    "high": ("high", "h", "high_price", "max"),
    "low": ("low", "l", "low_price", "min"),
    "close": ("close", "c", "close_price", "closeprice", "last"),
}
_VOLUME_NAMES = ("volume", "vol", "v", "real_volume", "base_volume", "tickvol", "tick_volume", "ticks")
_KNOWN = {*_TIME_NAMES, "date", "day", "time", "t", *sum(_PRICE_NAMES.values(), ()), *_VOLUME_NAMES}
_IGNORED = {"adj_close", "adjclose", "adjusted_close"}

_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$|^\d{6}$|^\d{4}$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})$")
_COMPACT = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}
EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9}


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: str


@dataclass(frozen=True)
class Duplicate:
    line: int
    time: datetime
    kept_line: int


@dataclass(frozen=True)
class Gap:
    after: datetime  # the last bar before the hole
    before: datetime  # the first bar after it
    missing: int


@dataclass
class CsvReport:
    separator: str
    header: bool
    columns: dict[str, str]
    timeframe: str | None
    timeframe_inferred: bool
    rows: int = 0
    bars: int = 0
    reordered: bool = False
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None

    @property
    def missing_bars(self) -> int:
        return sum(g.missing for g in self.gaps)

    def summary(self, limit: int = 10) -> str:
        lines = [
            f"{self.bars} bars from {self.rows} rows"
            + (
                f", {self.first:%Y-%m-%d %H:%M} – {self.last:%Y-%m-%d %H:%M} UTC"
                if self.first and self.last
                else ""
            )
            + (f", timeframe {self.timeframe}" if self.timeframe else ", timeframe unknown")
            + (" (inferred)" if self.timeframe_inferred else "")
        ]
        if self.reordered:
            lines.append("rows were not in time order and have been sorted")
        if self.rejected:
            lines.append(f"{len(self.rejected)} rows rejected:")
            lines += [f"  line {r.line}: {r.reason}" for r in self.rejected[:limit]]
        if self.duplicates:
            lines.append(f"{len(self.duplicates)} duplicate times (the last line kept):")
            lines += [
                f"  line {d.line}: {d.time:%Y-%m-%d %H:%M} (kept line {d.kept_line})"
                for d in self.duplicates[:limit]
            ]
        if self.gaps:
            lines.append(f"{len(self.gaps)} gaps, {self.missing_bars} missing bars:")
            lines += [f"  {g.missing} after {g.after:%Y-%m-%d %H:%M}" for g in self.gaps[:limit]]
        lines += self.notes
        return "\n".join(lines)


def read_bars_csv(
    source: Source,
    *,
    timeframe: str | None = None,
    tz: str = "UTC",
    separator: str | None = None,
    dayfirst: bool = False,
) -> tuple[pd.DataFrame, CsvReport]:
    """Parse a CSV of bars into a bar frame (UTC `open_time` index) and a report of what was done."""
    if timeframe is not None:
        timeframe_delta(timeframe)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise CsvImportError(f"Unknown time zone '{tz}'") from None
    text = _text(source)
    sep = separator or _sniff(text)
    cells, all_lines = _table(text, sep)
    if cells.empty:
        raise CsvImportError("The file is empty")
    first = list(cells.iloc[0].tolist())
    while len(first) > 1 and first[-1] == "":
        first.pop()
    header = _is_header(first)
    names = [_norm(c) for c in first] if header else _headerless_names(first)
    table = cells.iloc[1:] if header else cells
    lines = all_lines[1:] if header else all_lines
    if table.empty:
        raise CsvImportError("The file has a header but no rows")
    table = table.reset_index(drop=True)
    columns = _resolve(names)
    report = CsvReport(
        separator=sep,
        header=header,
        columns={role: (first[i].strip() if header else f"column {i + 1}") for role, i in columns.items()},
        timeframe=timeframe,
        timeframe_inferred=False,
        rows=len(table),
    )
    if header and any(n in _IGNORED for n in names):
        report.notes.append("'Adj Close' ignored: close is the traded (unadjusted) close")
    if "volume" not in columns:
        report.notes.append("no volume column: volume set to 0")

    problems = pd.Series("", index=table.index, dtype=object)
    times = _times(table, columns, zone, dayfirst, problems)
    values = {
        c: _numbers(table[columns[c]], sep) if c in columns else pd.Series(0.0, index=table.index)
        for c in BAR_COLUMNS
    }
    values["volume"] = values["volume"].fillna(0.0)
    o, h, lo, c, v = (values[k] for k in BAR_COLUMNS)
    ok = problems == ""
    checks = (
        (o.isna() | h.isna() | lo.isna() | c.isna(), "missing or non-numeric open/high/low/close"),
        (h < lo, "high < low"),
        ((c < lo) | (c > h), "close outside [low, high]"),
        ((o < lo) | (o > h), "open outside [low, high]"),
        (v < 0, "negative volume"),
    )
    for bad, reason in checks:
        hit = ok & bad.to_numpy()
        problems[hit] = reason
        ok &= ~hit
    report.rejected = [RejectedRow(int(lines[i]), str(problems[i])) for i in np.flatnonzero(~ok.to_numpy())]

    keep = ok.to_numpy()
    if not keep.any():
        shown = "; ".join(f"line {r.line}: {r.reason}" for r in report.rejected[:5])
        raise CsvImportError(f"No valid bars in the file ({shown})")
    micros = pd.DatetimeIndex(times[keep]).as_unit("us").asi8
    report.reordered = bool((np.diff(micros) < 0).any())
    order = np.argsort(micros, kind="stable")  # stable: equal times stay in file order
    micros, kept_lines = micros[order], lines[keep][order]
    kept_values = {k: values[k].to_numpy()[keep][order] for k in BAR_COLUMNS}
    last_of_run = np.append(micros[1:] != micros[:-1], True)
    run_ends = np.flatnonzero(last_of_run)
    report.duplicates = sorted(
        (
            Duplicate(
                int(kept_lines[i]), _utc(micros[i]), int(kept_lines[run_ends[np.searchsorted(run_ends, i)]])
            )
            for i in np.flatnonzero(~last_of_run)
        ),
        key=lambda d: d.line,
    )
    micros = micros[last_of_run]
    frame = bar_frame(
        pd.to_datetime(micros, unit="us", utc=True), {k: v[last_of_run] for k, v in kept_values.items()}
    )

    _gaps(micros, report)
    report.bars = len(frame)
    report.first, report.last = _utc(micros[0]), _utc(micros[-1])
    return frame, report


def _text(source: Source) -> str:
    raw: str | bytes
    if isinstance(source, (str, Path)):
        try:
            raw = Path(source).read_bytes()
        except OSError as exc:
            raise CsvImportError(f"Cannot read {source}: {exc.strerror}") from None
    else:
        raw = source if isinstance(source, bytes) else source.read()
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            return raw.decode("latin-1")
    return raw.lstrip("\ufeff")


def _sniff(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: first.count(sep) for sep in ("\t", ";", ",")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _table(text: str, sep: str) -> tuple[pd.DataFrame, np.ndarray]:
    """All non-blank rows as strings ("" where a row is short) and their line numbers."""
    physical = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        cells = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
        # One row a physical line, unless a quoted field spans lines: then count them the slow way.
        fast = len(cells) == physical
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        fast = False
    if fast:
        lines = np.arange(1, len(cells) + 1, dtype=np.int64)
    else:
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        rows, numbers = [], []
        for row in reader:
            rows.append(row)
            numbers.append(reader.line_num)
        width = max((len(r) for r in rows), default=0)
        cells = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)
        lines = np.array(numbers, dtype=np.int64)
    if cells.empty:
        return cells, lines
    cells = cells.fillna("").astype(str)
    blank = (cells.iloc[:, 0].str.strip() == "") & (cells.iloc[:, 1:] == "").all(axis=1)
    keep = ~blank.to_numpy()
    return cells[keep].reset_index(drop=True), lines[keep]


def _norm(name: str) -> str:
    return re.sub(r"[\s\-./]+", "_", name.strip().strip("<>\"'").strip().lower()).strip("_")


def _is_header(cells: Sequence[str]) -> bool:
    return any(_norm(c) in _KNOWN or _norm(c) in _IGNORED for c in cells)


def _headerless_names(cells: Sequence[str]) -> list[str]:
    if len(cells) < 5:
        raise CsvImportError(
            f"Expected at least 5 columns (time, open, high, low, close), found {len(cells)}"
        )
    if len(cells) >= 6 and _CLOCK.match(cells[1].strip()):
        names = ["date", "time", "open", "high", "low", "close", "volume"]
    else:
        names = ["datetime", "open", "high", "low", "close", "volume"]
    names = names[: len(cells)]
    return names + [f"extra_{i}" for i in range(len(cells) - len(names))]


def _resolve(names: list[str]) -> dict[str, int]:
    def find(candidates: Sequence[str]) -> int | None:
        for candidate in candidates:
            if candidate in names:
                return names.index(candidate)
        return None

    columns: dict[str, int] = {}
    for role, candidates in _PRICE_NAMES.items():
        index = find(candidates)
        if index is None:
            raise CsvImportError(f"No '{role}' column (columns: {', '.join(names)})")
        columns[role] = index
    volume = find(_VOLUME_NAMES)
    if volume is None:
        volume = next((i for i, n in enumerate(names) if n.startswith("volume")), None)
    if volume is not None:
        columns["volume"] = volume
    stamp = find(_TIME_NAMES)
    date, clock = find(("date", "day")), find(("time", "t"))
    if stamp is not None:
        columns["time"] = stamp
    elif date is not None and clock is not None:
        columns["date"], columns["time"] = date, clock
    elif date is not None or clock is not None:
        columns["time"] = date if date is not None else clock  # type: ignore[assignment]
    else:
        raise CsvImportError(f"No date or time column (columns: {', '.join(names)})")
    return columns


def _times(
    table: pd.DataFrame, columns: dict[str, int], zone: ZoneInfo, dayfirst: bool, problems: pd.Series
) -> pd.DatetimeIndex:
    text = table[columns["time"]].astype(str).str.strip()
    if "date" in columns:
        dates = table[columns["date"]].astype(str).str.strip()
        if text[text != ""].map(lambda s: bool(_CLOCK.match(s))).all():
            text = dates + " " + text.map(_clock)
        else:  # a "time" column of full timestamps next to a date: the time column wins
            text = text.where(text != "", dates)
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    filled = text != ""
    numeric = filled & text.str.match(_NUMBER.pattern)
    if numeric.any():
        parsed[numeric] = _epoch_or_compact(text[numeric], zone)
    rest = filled & ~numeric
    if rest.any():
        aware = rest & text.str.contains(_OFFSET.pattern, regex=True)
        if aware.any():
            stamped = pd.to_datetime(text[aware], utc=True, errors="coerce", format="ISO8601")
            if stamped.isna().any():
                stamped = stamped.fillna(
                    pd.to_datetime(text[aware], utc=True, errors="coerce", format="mixed")
                )
            parsed[aware] = stamped
        naive = rest & ~aware
        if naive.any():
            parsed[naive] = _localize(_parse_naive(text[naive], dayfirst), zone, problems)
    bad = parsed.isna() & (problems == "")
    problems[bad] = "unparseable time " + text[bad].map(lambda s: repr(s[:40]))
    return pd.DatetimeIndex(parsed)


def _clock(value: str) -> str:
    if value.isdigit() and len(value) in (4, 6):  # HHMM or HHMMSS
        return ":".join(value[i : i + 2] for i in range(0, len(value), 2))
    return value


def _parse_naive(text: pd.Series, dayfirst: bool) -> pd.Series:
    if text.str.match(r"^\d{4}-\d{2}-\d{2}").all():
        return pd.to_datetime(text, errors="coerce", format="ISO8601")
    return pd.to_datetime(text, errors="coerce", dayfirst=dayfirst)


def _localize(naive: pd.Series, zone: ZoneInfo, problems: pd.Series) -> pd.Series:
    if str(zone) == "UTC":
        return naive.dt.tz_localize("UTC")
    try:
        local = naive.dt.tz_localize(zone, ambiguous="infer", nonexistent="NaT")
    except Exception:  # "infer" needs ordered data around the repeated hour; otherwise refuse those rows
        local = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    lost = local.isna() & naive.notna()
    problems[lost[lost].index] = f"ambiguous or nonexistent local time in {zone}"
    return local.dt.tz_convert("UTC")


def _epoch_or_compact(text: pd.Series, zone: ZoneInfo) -> pd.Series:
    lengths = text.str.len()
    for size, fmt in _COMPACT.items():
        if (lengths == size).all() and text.str.match(r"^(19|20)\d{6}").all():
            naive = pd.to_datetime(text, format=fmt, errors="coerce")
            return naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    number = pd.to_numeric(text, errors="coerce")
    magnitude = float(number.abs().median())
    unit: Literal["ns", "us", "ms", "s"] = (
        "ns" if magnitude >= 1e17 else "us" if magnitude >= 1e14 else "ms" if magnitude >= 1e11 else "s"
    )
    return pd.to_datetime(number, unit=unit, utc=True, errors="coerce")


def _numbers(column: pd.Series, sep: str) -> pd.Series:
    text = column.astype(str)
    direct = pd.to_numeric(text, errors="coerce")
    odd = direct.isna()
    if odd.any():
        odd &= text.str.strip() != ""
    if not odd.any():
        return direct
    # Only the values plain parsing refused: spaces, decimal or thousands commas, 1.2K style suffixes.
    messy = text[odd].str.replace(r"[\s'_]", "", regex=True)
    if messy.str.contains(",", regex=False).any():
        if sep != "," and not text.str.contains(".", regex=False).any():
            messy = messy.str.replace(",", ".", regex=False)
        else:
            messy = messy.str.replace(",", "", regex=False)
    scale = pd.Series(1.0, index=messy.index)
    suffix = messy.str[-1:].str.upper()
    for letter, factor in _SUFFIX.items():
        hit = suffix == letter
        if hit.any():
            scale[hit] = factor
            messy = messy.where(~hit, messy.str[:-1])
    direct[odd] = pd.to_numeric(messy, errors="coerce") * scale
    return direct


def _gaps(micros: np.ndarray, report: CsvReport) -> None:
    if len(micros) < 2:
        return
    steps = np.diff(micros)
    if report.timeframe is None:
        values, counts = np.unique(steps, return_counts=True)
        step = timedelta(microseconds=int(values[np.argmax(counts)]))
        report.timeframe = timeframe_for(step)
        report.timeframe_inferred = report.timeframe is not None
        if report.timeframe is None:
            report.notes.append(f"bar spacing {step} is not a known timeframe: gaps not checked")
            return
    delta = timeframe_delta(report.timeframe)
    unit = delta // timedelta(microseconds=1)
    report.gaps = [
        Gap(_utc(micros[i]), _utc(micros[i + 1]), -(-int(steps[i]) // unit) - 1)
        for i in np.flatnonzero(steps > unit)
    ]


def _utc(micros: int) -> datetime:
    return EPOCH_UTC + timedelta(microseconds=int(micros))

"""Reading inbox-tool exports into the canonical history.

The canonical history is a long table with one row per interval and channel:
``channel``, ``ds`` (tz-aware interval start in the team's zone), ``y`` (messages in the interval;
missing where no export covers the interval). Exports come in two shapes:

* message level: one row per message (a timestamp, optionally channel, message id, case id,
  handle time and label);
* interval counts: a timestamp and a count per row (optionally a channel).

Everything that can go wrong with a file is collected as :class:`Problem` records naming the file,
the column and the row numbers (counted as a spreadsheet shows them: the header is row 1) and
raised together as :class:`IngestError`; nothing is returned or written when a file is bad.
The conventions are documented in ``docs/formats.md``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

DEFAULT_TZ = "Europe/Amsterdam"
DEFAULT_CHANNEL = "all"
ALLOWED_FREQS = {
    pd.Timedelta("15min"): "15min",
    pd.Timedelta("30min"): "30min",
    pd.Timedelta("1h"): "1h",
}
MIN_HISTORY_DAYS = 14
_MAX_ROWS_LISTED = 5

# Column names recognised per role, compared after normalisation (lower case, runs of anything
# that is not a letter or digit turned into one "_"). English and Dutch, the names the common
# inbox tools (and our own canonical files) use.
COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "timestamp": (
        "ds", "ts", "timestamp", "created_at", "createdat", "created", "created_time", "creation_time",
        "date_created", "created_date", "datetime", "date_time", "time_stamp", "received_at",
        "received", "received_time", "sent_at", "published_at", "published", "posted_at",
        "message_time", "interval", "interval_start", "period_start", "tijdstip", "datumtijd",
        "datum_tijd", "datum_en_tijd", "aangemaakt", "aangemaakt_op", "ontvangen", "ontvangen_op",
        "binnengekomen", "binnengekomen_op", "starttijd", "start_time",
    ),
    "date": ("date", "datum", "day", "dag"),
    "time": ("time", "tijd", "hour", "hr", "uur", "time_of_day", "interval_time"),
    "channel": (
        "channel", "kanaal", "platform", "source", "bron", "network", "netwerk", "medium",
        "social_network", "channel_name", "kanaalnaam",
    ),
    "count": (
        "y", "count", "counts", "aantal", "volume", "value", "n", "messages", "n_messages",
        "number_of_messages", "berichten", "aantal_berichten", "mentions", "calls", "cnt", "total",
        "totaal", "waarde",
    ),
    "message_id": (
        "message_id", "messageid", "msg_id", "id", "bericht_id", "berichtid", "post_id",
        "tweet_id", "mention_id", "item_id",
    ),
    "case_id": (
        "case_id", "caseid", "case", "case_number", "conversation_id",
        "ticket_id", "ticket", "thread_id", "zaak_id", "zaaknummer", "casenummer", "gesprek_id",
        "dossier",
    ),
    "handle_time": (
        "handle_time_seconds", "handle_time", "handling_time", "handling_time_seconds",
        "handle_seconds", "aht", "afhandeltijd", "behandeltijd", "work_time", "duration", "duur",
    ),
    "label": (
        "label", "labels", "tag", "tags", "category", "categorie", "topic", "reason",
        "reden", "type",
    ),
}
ROLES = tuple(COLUMN_SYNONYMS)

_TIME_OF_DAY = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?")
_ZONED = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$")
_OFFSET_SUFFIX = re.compile(r"\s*(?:Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$")
_NAIVE_FORMATS = (
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M",
    "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d",
    "%d-%m-%Y %I:%M:%S %p", "%d-%m-%Y %I:%M %p", "%d/%m/%Y %I:%M:%S %p", "%d/%m/%Y %I:%M %p",
)
_US_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y")


# --------------------------------------------------------------------------------------------
# Problems and reports


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, with where it is."""

    file: str
    message: str
    column: str | None = None
    rows: tuple[int, ...] = ()
    n_rows: int = 0

    def __str__(self) -> str:
        where = self.file
        if self.column:
            where += f", column '{self.column}'"
        if self.rows:
            listed = ", ".join(str(r) for r in self.rows)
            more = self.n_rows - len(self.rows)
            where += f", row{'s' if self.n_rows > 1 else ''} {listed}"
            if more > 0:
                where += f" and {more:,} more"
        return f"{where}: {self.message}"


class IngestError(ValueError):
    """The input cannot be read; every problem found is listed, nothing was written."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class FileReport:
    """What was read from one file."""

    file: str
    shape: str  # "messages" or "counts"
    rows_read: int  # data rows
    messages: int  # messages in those rows (the sum of the counts for count data)
    columns: dict[str, str]  # role -> column name in the file
    ignored_columns: list[str]
    channels: list[str]
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "shape": self.shape,
            "rows_read": self.rows_read,
            "messages": self.messages,
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "channels": self.channels,
            "start": self.start.isoformat() if self.start is not None else None,
            "end": self.end.isoformat() if self.end is not None else None,
            "notes": self.notes,
        }


@dataclass
class Gap:
    """A run of intervals of one channel that no export covers (missing, not zero)."""

    channel: str
    start: pd.Timestamp
    end: pd.Timestamp  # start of the last missing interval
    intervals: int


@dataclass
class IngestReport:
    """The ingestion report: what was read, filled, de-duplicated and found missing."""

    tz: str
    freq: str
    files: list[FileReport]
    messages_read: int
    duplicates_removed: int
    intervals: int
    filled_zero_intervals: int
    gaps: list[Gap]
    overlaps: list[str]

    def to_dict(self) -> dict:
        return {
            "tz": self.tz,
            "freq": self.freq,
            "files": [f.to_dict() for f in self.files],
            "messages_read": self.messages_read,
            "duplicates_removed": self.duplicates_removed,
            "intervals": self.intervals,
            "filled_zero_intervals": self.filled_zero_intervals,
            "gaps": [
                {"channel": g.channel, "start": g.start.isoformat(), "end": g.end.isoformat(), "intervals": g.intervals}
                for g in self.gaps
            ],
            "overlaps": self.overlaps,
        }

    def lines(self) -> list[str]:
        """The report as short lines of text for the command line."""
        out = []
        for f in self.files:
            span = f"{f.start:%Y-%m-%d %H:%M} to {f.end:%Y-%m-%d %H:%M}" if f.start is not None else "-"
            what = f"{f.messages:,} messages" if f.shape == "messages" else f"{f.rows_read:,} count rows, {f.messages:,} messages"
            out.append(f"{f.file}: {what}, {len(f.channels)} channel(s) ({', '.join(f.channels)}), {span}")
            used = ", ".join(f"{role}={col}" for role, col in f.columns.items())
            out.append(f"  columns used: {used}")
            if f.ignored_columns:
                out.append(f"  not kept: {', '.join(f.ignored_columns)}")
            out.extend(f"  note: {n}" for n in f.notes)
        if self.messages_read:
            out.append(f"messages read: {self.messages_read:,}; duplicates removed by message id: {self.duplicates_removed:,}")
        out.append(f"intervals ({self.freq}, {self.tz}): {self.intervals:,}; empty intervals filled with 0: {self.filled_zero_intervals:,}")
        if self.gaps:
            missing = sum(g.intervals for g in self.gaps)
            out.append(f"gaps (no export covers them, left missing): {len(self.gaps)} ({missing:,} intervals)")
            for g in self.gaps[:10]:
                out.append(f"  {g.channel}: {g.start:%Y-%m-%d %H:%M} to {g.end:%Y-%m-%d %H:%M} ({g.intervals:,} intervals)")
            if len(self.gaps) > 10:
                out.append(f"  ... and {len(self.gaps) - 10} more")
        out.extend(f"overlap: {o}" for o in self.overlaps)
        return out


@dataclass
class IngestResult:
    """The canonical history, the message-level details worth keeping, and the report."""

    history: pd.DataFrame  # channel, ds (tz-aware), y (Int64, <NA> where missing)
    messages: pd.DataFrame | None  # ts (tz-aware), channel, message_id, case_id, handle_time_seconds, label
    report: IngestReport


@dataclass(frozen=True)
class ColumnChoice:
    """Columns named by the user (flags); ``None`` means detect by name."""

    timestamp: str | None = None
    date: str | None = None
    time: str | None = None
    channel: str | None = None
    count: str | None = None
    message_id: str | None = None
    case_id: str | None = None
    handle_time: str | None = None
    label: str | None = None

    def named(self) -> dict[str, str]:
        return {role: getattr(self, role) for role in ROLES if getattr(self, role)}


@dataclass(frozen=True)
class IngestOptions:
    """Everything that steers ingestion; validated by :func:`ingest_files`."""

    tz: str = DEFAULT_TZ
    freq: str | pd.Timedelta = "1h"
    source_tz: str | None = None  # zone of naive timestamps when it differs from ``tz``
    offsets_are_local: bool = False  # read stamped offsets (or Z) as local clock time
    shape: str = "auto"  # "auto", "messages" or "counts"
    columns: ColumnChoice = ColumnChoice()
    channel: str = DEFAULT_CHANNEL  # channel name for files without a channel column
    dayfirst: bool = True  # 05/03/2024 is 5 March unless False
    min_history_days: float = MIN_HISTORY_DAYS
    now: pd.Timestamp | None = None  # for tests; timestamps after it are "in the future"


# --------------------------------------------------------------------------------------------
# Reading tables


def normalise_name(name: object) -> str:
    """Column name as compared with the synonyms: lower case, non-alphanumerics as one '_'."""
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class _Table:
    frame: pd.DataFrame
    positions: np.ndarray  # each row's position among the data records of the file (0-based)
    label: str
    first_row: int  # spreadsheet row of the first data record (2 under a header, 1 in Parquet)
    csv_source: tuple[Path, str, str] | None = None  # (path, encoding, delimiter) of a text file

    @classmethod
    def starting_at(cls, frame: pd.DataFrame, first_row: int, label: str, csv_source=None) -> "_Table":
        return cls(frame.reset_index(drop=True), np.arange(len(frame)), label, first_row, csv_source)

    def sheet_rows(self, idx: np.ndarray) -> np.ndarray:
        """Spreadsheet row numbers (header = row 1) of rows ``idx`` of the frame.

        A text file may hold blank lines (which the CSV reader skips) and values spanning several
        lines, so its row numbers are found by counting records; that is done only when a
        problem is reported."""
        positions = self.positions[idx]
        if self.csv_source is not None:
            rows = _csv_record_rows(*self.csv_source)
            if rows is not None and (positions.size == 0 or positions.max() < rows.size):
                return rows[positions]
        return positions + self.first_row


_RECORD_ROWS: dict[tuple, np.ndarray | None] = {}


def _csv_record_rows(path: Path, encoding: str, delimiter: str) -> np.ndarray | None:
    """Spreadsheet row of each non-blank data record of a text file (cached per file version)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, encoding, delimiter)
    if key not in _RECORD_ROWS:
        rows = []
        try:
            with _open_binary(path) as raw, io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text:
                for number, record in enumerate(csv.reader(text, delimiter=delimiter), start=1):
                    # the CSV reader skips lines that are empty or hold only spaces
                    if number > 1 and record and not (len(record) == 1 and not record[0].strip()):
                        rows.append(number)
            _RECORD_ROWS[key] = np.asarray(rows, dtype=np.int64)
        except (csv.Error, OSError):
            _RECORD_ROWS[key] = None
    return _RECORD_ROWS[key]


def _sniff_encoding(head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of the sample is still UTF-8
        if exc.start >= len(head) - 3:
            return "utf-8"
        return "cp1252"


def _sniff_delimiter(sample: str, label: str) -> str:
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if not lines:
        raise IngestError([Problem(label, "the file is empty")])
    best, best_score = ",", -1
    for delim in (",", ";", "\t", "|"):
        try:
            rows = list(csv.reader(lines[:-1] if len(lines) > 1 else lines, delimiter=delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(w == widths[0] for w in widths)
        score = consistent * 1000 + widths[0]
        if score > best_score:
            best, best_score = delim, score
    return best


_COMPRESSED = (".gz", ".bz2", ".xz")


def _open_binary(path: Path):
    suffix = path.suffix.lower()
    if suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")
    if suffix == ".bz2":
        import bz2

        return bz2.open(path, "rb")
    if suffix == ".xz":
        import lzma

        return lzma.open(path, "rb")
    return open(path, "rb")


def _sniff_csv(path: Path, label: str) -> tuple[str, str, str]:
    """Encoding, delimiter and the decoded first 256 KiB of a text export."""
    try:
        with _open_binary(path) as handle:
            raw = handle.read(256 * 1024)
    except (OSError, EOFError) as exc:
        raise IngestError([Problem(label, f"cannot read the file ({_first_line(exc)})")]) from None
    if not raw.strip():
        raise IngestError([Problem(label, "the file is empty")])
    encoding = _sniff_encoding(raw)
    text = raw.decode(encoding, errors="replace")
    return encoding, _sniff_delimiter(text, label), text


def _read_csv(path: Path, label: str, wanted: Iterable[str] | None) -> _Table:
    """Read a text export with pyarrow's CSV reader (multi-threaded, and no Python object per
    cell, which keeps millions of rows small); pandas' reader is the fallback that names the line
    of a malformed row."""
    encoding, delimiter, text = _sniff_csv(path, label)
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    wanted_set = set(wanted) if wanted is not None else None
    include = [h for h in header if wanted_set is None or h.strip().lstrip("\ufeff") in wanted_set]
    try:
        try:
            frame = _read_csv_arrow(path, encoding, delimiter, include)
        except Exception as exc:
            # a byte that is not UTF-8 beyond the sniffed start, in a column that is read
            if encoding != "utf-8" or "utf8" not in str(exc).lower():
                raise
            encoding = "cp1252"
            frame = _read_csv_arrow(path, encoding, delimiter, include)
    except UnicodeDecodeError:
        raise IngestError([Problem(label, "cannot decode the text (tried UTF-8, UTF-16 and cp1252)")]) from None
    except Exception:  # pyarrow.ArrowInvalid and friends: let pandas say where it breaks
        frame = _read_csv_pandas(path, label, encoding, delimiter, wanted_set)
    source = (path, encoding, delimiter)
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    return _Table.starting_at(frame, 2, label, source)


def _read_csv_arrow(path: Path, encoding: str, delimiter: str, include: list[str]) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding, block_size=1 << 24)
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        include_columns=include,
        column_types={c: pa.string() for c in include},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    table = pacsv.read_csv(path, read_options=read, parse_options=parse, convert_options=convert)
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get, self_destruct=True)
    del table
    _release_memory()  # the reader's block buffers
    return frame


def _read_csv_pandas(path: Path, label: str, encoding: str, delimiter: str, wanted: set[str] | None) -> pd.DataFrame:
    kwargs = dict(
        sep=delimiter,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=True,
        encoding=encoding,
        usecols=(lambda c: c.strip().lstrip("\ufeff") in wanted) if wanted is not None else None,
    )
    try:
        return _read_csv_chunked(path, kwargs)
    except pd.errors.EmptyDataError:
        raise IngestError([Problem(label, "the file is empty")]) from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError([Problem(label, f"not a readable CSV file ({_first_line(exc)})")]) from None


_CSV_CHUNK_ROWS = 500_000


def _read_csv_chunked(path: Path, kwargs: dict) -> pd.DataFrame:
    """``pd.read_csv`` in chunks: the parser's temporary Python strings then exist for one chunk
    at a time, not for millions of rows (what keeps a 5-million-row export well under 2 GiB)."""
    chunks = list(pd.read_csv(path, chunksize=_CSV_CHUNK_ROWS, **kwargs))
    if len(chunks) == 1:
        return chunks[0]
    return pd.concat(chunks, ignore_index=True)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _read_header(path: Path, label: str) -> list[str]:
    """Column names of a file without reading all of it (empty for workbooks, read whole)."""
    suffix = _suffix(path)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return [str(n) for n in pq.read_schema(path).names]
        except Exception as exc:  # pyarrow raises several types for a damaged file
            raise IngestError([Problem(label, f"not a readable Parquet file ({_first_line(exc)})")]) from None
    if suffix in (".xlsx", ".xlsm", ".xls"):
        return []
    if not path.exists():
        raise IngestError([Problem(label, "file not found")])
    _, delimiter, text = _sniff_csv(path, label)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise IngestError([Problem(label, f"not a readable CSV file ({_first_line(exc)})")]) from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if not any(header):
        raise IngestError([Problem(label, "the first line holds no column names")])
    return header


def _suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED and len(suffixes) > 1:
        return suffixes[-2]
    return suffixes[-1] if suffixes else ""


def read_table(path: Path, label: str | None = None, wanted: Iterable[str] | None = None) -> _Table:
    """Read a CSV/TSV/TXT (optionally compressed), XLSX or Parquet export.

    CSV delimiters ``,`` ``;`` tab and ``|`` and the encodings UTF-8 (with or without BOM), UTF-16
    and cp1252 are detected. Only the columns in ``wanted`` are read (message text, names and
    handles are never loaded).
    """
    label = label or path.name
    if not path.exists():
        raise IngestError([Problem(label, "file not found")])
    if path.stat().st_size == 0:
        raise IngestError([Problem(label, "the file is empty")])
    suffix = _suffix(path)
    if suffix == ".parquet":
        try:
            frame = pd.read_parquet(path, columns=list(wanted) if wanted is not None else None)
        except Exception as exc:
            raise IngestError([Problem(label, f"not a readable Parquet file ({_first_line(exc)})")]) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        return _Table.starting_at(frame, 1, label)
    if suffix in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(path, dtype=object, engine="openpyxl")
        except Exception as exc:
            raise IngestError([Problem(label, f"not a readable Excel workbook ({_first_line(exc)})")]) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        if wanted is not None:
            frame = frame[[c for c in frame.columns if c in set(wanted)]]
        return _Table.starting_at(frame, 2, label)
    if suffix == ".xls":
        raise IngestError([Problem(label, "old .xls workbooks are not read: save it as .xlsx or CSV")])
    return _read_csv(path, label, wanted)


# --------------------------------------------------------------------------------------------
# Columns


def detect_columns(columns: Sequence[str], choice: ColumnChoice, label: str) -> dict[str, str]:
    """Map roles (timestamp, channel, count ...) to column names, by flag or by common name."""
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise_name(col), col)
    mapping: dict[str, str] = {}
    problems = []
    for role, name in choice.named().items():
        if name in columns:
            mapping[role] = name
        elif normalise_name(name) in by_norm:
            mapping[role] = by_norm[normalise_name(name)]
        else:
            problems.append(Problem(label, f"there is no column '{name}' (named for {role}); columns are: {', '.join(columns)}"))
    if problems:
        raise IngestError(problems)
    taken = set(mapping.values())
    for role, synonyms in COLUMN_SYNONYMS.items():
        if role in mapping:
            continue
        for synonym in synonyms:
            col = by_norm.get(synonym)
            if col is not None and col not in taken:
                mapping[role] = col
                taken.add(col)
                break
    if "timestamp" in mapping and ("date" in mapping or "time" in mapping) and not choice.timestamp:
        # a date + time pair named by flag wins over a detected timestamp column
        if choice.date or choice.time:
            mapping.pop("timestamp")
    if "timestamp" not in mapping and "date" not in mapping:
        raise IngestError([
            Problem(
                label,
                "no timestamp column found; columns are: " + ", ".join(map(str, columns))
                + ". Name it with --timestamp-col (or --date-col and --time-col)",
            )
        ])
    if "timestamp" in mapping:
        mapping.pop("date", None)
        mapping.pop("time", None)
    return mapping


# --------------------------------------------------------------------------------------------
# Time


def _as_text(series: pd.Series) -> pd.Series:
    """Strings for every cell; datetime and time cells (from Excel) in ISO form; None as ''."""

    def one(value: object) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    if series.dtype == object:
        return series.map(one).astype(str).str.strip()
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.map(one).astype(str)
    return series.astype(str).fillna("").str.strip()


def _rows(table: _Table, mask: np.ndarray) -> tuple[tuple[int, ...], int]:
    idx = np.flatnonzero(mask)
    return tuple(int(r) for r in table.sheet_rows(idx[:_MAX_ROWS_LISTED])), int(idx.size)


def _problem(table: _Table, column: str | None, mask: np.ndarray, message: str) -> Problem:
    rows, n = _rows(table, mask)
    return Problem(table.label, message, column, rows, n)


def _combine_date_time(date: pd.Series, time: pd.Series | None) -> pd.Series:
    date_text = _as_text(date).str.replace(r"T00:00:00$", "", regex=True).str.replace(r" 00:00:00$", "", regex=True)
    if time is None:
        return date_text
    time_text = _as_text(time)
    # "14:00 - 15:00" interval labels keep their start; "14" is an hour of the day
    start = time_text.str.extract(r"^\s*(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?)", expand=False)
    hour_only = time_text.str.fullmatch(r"\d{1,2}")
    start = start.where(start.notna(), time_text.where(~hour_only, time_text + ":00"))
    start = start.fillna(time_text)
    both = (date_text != "") & (start != "")
    return (date_text + " " + start).where(both, "")


def _parse_naive(text: pd.Series, dayfirst: bool) -> pd.Series:
    """Parse naive date-time strings; unparseable values become NaT. Picks one format for all."""
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    bad = parsed.isna() & (text != "")
    if not bad.any():
        return parsed
    sample = text[text != ""].head(2000)
    formats = _NAIVE_FORMATS + _US_FORMATS if dayfirst else _US_FORMATS + _NAIVE_FORMATS
    best, best_ok = parsed, int((~bad).sum())
    iso_ok_sample = int(pd.to_datetime(sample, format="ISO8601", errors="coerce").notna().sum())
    best_sample = iso_ok_sample
    for fmt in formats:
        ok = int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum())
        if ok > best_sample:
            candidate = pd.to_datetime(text, format=fmt, errors="coerce")
            n_ok = int(candidate.notna().sum())
            if n_ok > best_ok:
                best, best_ok, best_sample = candidate, n_ok, ok
        if best_sample == len(sample):
            break
    if best.isna().sum() > int((text == "").sum()):
        # the first rows did not settle it (e.g. US dates whose days are all <= 12 at first)
        for fmt in formats:
            candidate = pd.to_datetime(text, format=fmt, errors="coerce")
            n_ok = int(candidate.notna().sum())
            if n_ok > best_ok:
                best, best_ok = candidate, n_ok
    return best


_OFFSET_PARTS = re.compile(r"\s*(?:(Z|z|UTC|GMT)|([+-])(\d{2}):?(\d{2})?)$")


def _parse_zoned_fallback(text: pd.Series, utc: pd.Series, dayfirst: bool) -> pd.Series:
    """Stamps with an offset that are not ISO 8601 ('2025-09-01 00:00:00 UTC', '05-03-2025 14:30
    +01:00'): the clock part is read with one format for the whole column (day first unless the
    data say otherwise) and the offset is subtracted; nothing is guessed value by value."""
    todo = utc.isna()
    part = text[todo]
    offsets = part.str.extract(_OFFSET_PARTS)
    sign = np.where(offsets[1] == "-", -1, 1)
    minutes = sign * (pd.to_numeric(offsets[2], errors="coerce").fillna(0) * 60 + pd.to_numeric(offsets[3], errors="coerce").fillna(0))
    clock = _parse_naive(part.str.replace(_OFFSET_PARTS, "", regex=True).str.strip(), dayfirst)
    fixed = (clock - pd.to_timedelta(minutes, unit="min")).dt.tz_localize("UTC")
    return utc.where(~todo, fixed)


@dataclass
class _Times:
    utc_ns: np.ndarray  # UTC instants, int64 ns
    naive_ns: np.ndarray | None  # wall-clock values as read, for naive input
    second_pass: np.ndarray | None  # True for naive values placed in the second pass of a repeated hour
    notes: list[str]


def parse_timestamps(
    table: _Table,
    values: pd.Series,
    column: str,
    *,
    source_tz: str,
    offsets_are_local: bool,
    dayfirst: bool,
    shape: str,
    group: np.ndarray | None,
) -> _Times:
    """Parse a column of timestamps (text, or datetimes from Parquet/Excel) into UTC instants.

    Naive values are local clock time in ``source_tz``. On the 25-hour day a naive hour occurs
    twice: message rows are assigned to the first or second pass in file order (the clock going
    back marks the second pass); in count data the first row of a repeated interval is the first
    pass (summer time) and the second row the second. Times that do not exist (the skipped hour of
    the 23-hour day) are moved to the end of the gap. Values with an offset are converted.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        if offsets_are_local:
            naive = values.dt.tz_localize(None)
            return _localize(table, naive, column, source_tz, shape, group, ["time zones in the file were read as local clock time"])
        return _Times(np.asarray(pd.DatetimeIndex(values).tz_convert("UTC").as_unit("ns").asi8), None, None, [])
    if pd.api.types.is_datetime64_dtype(values.dtype):
        missing = values.isna().to_numpy()
        if missing.any():
            raise IngestError([_problem(table, column, missing, "timestamp is empty")])
        return _localize(table, values, column, source_tz, shape, group, [])

    text = _as_text(values)
    empty = (text == "").to_numpy()
    if empty.any():
        raise IngestError([_problem(table, column, empty, "timestamp is empty")])
    zoned = text.str.contains(_ZONED, regex=True).to_numpy()
    notes: list[str] = []
    if zoned.any() and offsets_are_local:
        text = text.str.replace(_OFFSET_SUFFIX, "", regex=True)
        zoned = np.zeros(len(text), dtype=bool)
        notes.append("UTC offsets in the file were read as local clock time (--offsets-are-local)")
    if zoned.any():
        if not zoned.all():
            naive = ~zoned
            minority, kind = (naive, "without") if naive.sum() <= zoned.sum() else (zoned, "with")
            raise IngestError([
                _problem(
                    table, column, minority,
                    f"the file mixes timestamps with and without a UTC offset; these rows are {kind} one. "
                    "Export all with offsets, or all in local time",
                )
            ])
        utc = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        if utc.isna().any():
            utc = _parse_zoned_fallback(text, utc, dayfirst)
        bad = utc.isna().to_numpy()
        if bad.any():
            examples = ", ".join(repr(v) for v in text[bad].head(3))
            raise IngestError([_problem(table, column, bad, f"cannot read these timestamps (e.g. {examples})")])
        return _Times(np.asarray(pd.DatetimeIndex(utc).as_unit("ns").asi8), None, None, notes)

    naive = _parse_naive(text, dayfirst)
    bad = naive.isna().to_numpy()
    if bad.any():
        examples = ", ".join(repr(v) for v in text[bad].head(3))
        raise IngestError([
            _problem(table, column, bad, f"cannot read these timestamps (e.g. {examples}); expected e.g. 2024-03-05 14:30")
        ])
    return _localize(table, naive, column, source_tz, shape, group, notes)


def _localize(
    table: _Table, naive: pd.Series, column: str, source_tz: str, shape: str, group: np.ndarray | None, notes: list[str]
) -> _Times:
    local = pd.DatetimeIndex(naive).as_unit("ns")
    values = np.asarray(local.asi8)
    marked = local.tz_localize(source_tz, ambiguous="NaT", nonexistent="NaT")
    unmarked = np.asarray(marked.isna())
    first_pass = np.ones(len(values), dtype=bool)
    if unmarked.any():
        nonexistent = np.zeros(len(values), dtype=bool)
        probe = local[unmarked].tz_localize(source_tz, ambiguous=True, nonexistent="NaT")
        nonexistent[np.flatnonzero(unmarked)] = np.asarray(probe.isna())
        ambiguous = unmarked & ~nonexistent
        if ambiguous.any():
            first_pass = _first_pass(values, ambiguous, group, shape, table, column)
        if nonexistent.any():
            notes = notes + [
                f"{int(nonexistent.sum()):,} row(s) stamped in the hour skipped when summer time starts "
                "were counted from the end of that hour"
            ]
    aware = local.tz_localize(source_tz, ambiguous=first_pass, nonexistent="shift_forward")
    return _Times(np.asarray(aware.tz_convert("UTC").asi8), values, ~first_pass, notes)


def _first_pass(
    values: np.ndarray, ambiguous: np.ndarray, group: np.ndarray | None, shape: str, table: _Table, column: str
) -> np.ndarray:
    """For naive values in the repeated hour: True for the first pass (summer time)."""
    result = np.ones(len(values), dtype=bool)
    idx = np.flatnonzero(ambiguous)
    # a file sorted newest first is read in reverse, so that "first" stays the earlier hour
    steps = np.diff(values)
    descending = np.count_nonzero(steps < 0) > np.count_nonzero(steps > 0)
    # A file sorted by time overall is read in file order; one sorted per channel, per channel.
    clear = ~ambiguous[1:] & ~ambiguous[:-1]
    against_order = (steps > 0) if descending else (steps < 0)
    if group is not None and not np.any(against_order & clear):
        group = None
    day = values[idx] // (86400 * 10**9)
    keys = pd.Series(day) if group is None else pd.Series(group[idx].astype(str)) + "|" + pd.Series(day).astype(str)
    too_many = np.zeros(len(values), dtype=bool)
    for _, positions in pd.Series(np.arange(idx.size)).groupby(keys.to_numpy(), sort=False):
        pos = positions.to_numpy()
        if descending:
            pos = pos[::-1]
        rows = idx[pos]
        seq = values[rows]
        if shape == "counts":
            occurrence = pd.Series(seq).groupby(seq).cumcount().to_numpy()
            result[rows[occurrence == 1]] = False
            too_many[rows[occurrence >= 2]] = True
        else:
            went_back = np.zeros(seq.size, dtype=bool)
            went_back[1:] = np.maximum.accumulate(seq)[:-1] > seq[1:]
            result[rows[np.logical_or.accumulate(went_back)]] = False
    if too_many.any():
        raise IngestError([
            _problem(table, column, too_many, "the same interval appears more than twice on the day the clocks go back")
        ])
    return result


def wall_clock_ns(utc_ns: np.ndarray, tz: str) -> np.ndarray:
    """Local wall-clock time (int64 ns, as if UTC) of UTC instants (int64 ns)."""
    utc_index = pd.DatetimeIndex(np.asarray(utc_ns, dtype=np.int64).astype("datetime64[ns]")).tz_localize("UTC")
    return np.asarray(utc_index.tz_convert(tz).tz_localize(None).as_unit("ns").asi8)


def floor_local(utc_ns: np.ndarray, tz: str, freq_ns: int) -> np.ndarray:
    """Floor UTC instants (int64 ns) to the start of their ``freq`` interval in local wall time.

    Works for zones whose offset is not a whole number of hours too: the floor is taken on the
    wall clock and the instant's own offset is subtracted again.
    """
    utc_ns = np.asarray(utc_ns, dtype=np.int64)
    wall = wall_clock_ns(utc_ns, tz)
    offset = wall - utc_ns
    return wall - np.mod(wall, freq_ns) - offset


# --------------------------------------------------------------------------------------------
# One file


@dataclass
class _FileData:
    report: FileReport
    shape: str
    ts_ns: np.ndarray  # UTC int64 ns (messages: message time; counts: interval start as stamped)
    channel: np.ndarray
    count: np.ndarray | None  # counts shape: float with NaN for explicitly empty
    extra: pd.DataFrame | None  # messages shape: message_id, case_id, handle_time_seconds, label


def _parse_counts(table: _Table, column: str) -> tuple[np.ndarray, list[Problem]]:
    series = table.frame[column]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        empty = np.isnan(values)
        bad = np.zeros(len(values), dtype=bool)
    else:
        text = _whole_number_text(_as_text(series))
        empty = (text == "").to_numpy()
        values = pd.to_numeric(text.where(~empty, None), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(values) & ~empty
    problems = []
    if bad.any():
        problems.append(_problem(table, column, bad, "count is not a number"))
    finite = np.isfinite(values)
    infinite = ~np.isnan(values) & ~finite
    if infinite.any():
        problems.append(_problem(table, column, infinite, "count is not a finite number"))
    negative = finite & (values < 0)
    if negative.any():
        problems.append(_problem(table, column, negative, "count is negative"))
    fractional = finite & ~negative & (values != np.round(values))
    if fractional.any():
        problems.append(_problem(table, column, fractional, "count is not a whole number"))
    return values, problems


def _whole_number_text(text: pd.Series) -> pd.Series:
    """Counts written the Dutch way: '1.234' (thousands separator) and '41,0' (decimal comma).

    Counts are whole numbers, so a column whose dotted values all look like '1.234' or
    '12.345.678' holds thousands separators; ',0' endings are a decimal comma. Anything else is
    left for the number check to judge."""
    dotted = text.str.contains(".", regex=False)
    if dotted.any() and text[dotted].str.fullmatch(r"\d{1,3}(?:\.\d{3})+").all():
        text = text.str.replace(".", "", regex=False)
    comma = text.str.contains(",", regex=False)
    if comma.any() and text[comma].str.fullmatch(r"\d+,0*").all():
        text = text.str.replace(r",0*$", "", regex=True)
    return text


def _parse_handle_time(series: pd.Series) -> tuple[np.ndarray, int]:
    """Handle times in seconds, from numbers of seconds or h:mm:ss; unreadable ones are NaN."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        seconds = series.to_numpy(dtype=float, na_value=np.nan).copy()
    else:
        text = _as_text(series)
        seconds = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan).copy()
        clock = np.isnan(seconds) & text.str.contains(":", regex=False).to_numpy()
        if clock.any():
            seconds[clock] = pd.to_timedelta(text[clock], errors="coerce").dt.total_seconds().to_numpy()
    invalid = ~np.isnan(seconds) & ((seconds < 0) | ~np.isfinite(seconds))
    seconds[invalid] = np.nan
    return seconds, int(invalid.sum())


def _release_memory() -> None:
    """Hand memory freed by a large step back to the operating system (pyarrow's pool and glibc's
    heap otherwise keep it), so that the next step's peak does not stack on top of it."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:
        pass
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def _drop_blank_rows(table: _Table) -> tuple[int, tuple[int, ...]]:
    """Remove rows where every column read is empty (blank lines, or the ';;;' rows spreadsheets
    leave behind); returns how many and the first few row numbers, for the report."""
    blank = np.ones(len(table.frame), dtype=bool)
    for col in table.frame.columns:
        series = table.frame[col]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):  # typed cells (Parquet, XLSX): blank = missing
            blank &= series.isna().to_numpy()
        else:
            blank &= (_as_text(series) == "").to_numpy()
    rows, n = _rows(table, blank)
    if n:
        table.frame = table.frame[~blank].reset_index(drop=True)
        table.positions = table.positions[~blank]
    return n, rows


def read_export(path: Path, options: IngestOptions, label: str | None = None) -> _FileData:
    """Read and check one export; raises :class:`IngestError` listing every problem found."""
    label = label or path.name
    if not path.exists():
        raise IngestError([Problem(label, "file not found")])
    header = _read_header(path, label)
    mapping = detect_columns(header, options.columns, label) if header else None
    table = read_table(path, label, list(mapping.values()) if mapping else None)
    if mapping is None:
        header = list(table.frame.columns)
        mapping = detect_columns(header, options.columns, label)
        table.frame = table.frame[list(mapping.values())]
    ignored = [str(c) for c in header if c not in mapping.values()]
    n_blank, blank_rows = _drop_blank_rows(table)
    if table.frame.empty:
        raise IngestError([Problem(label, "the file has no data rows")])
    frame = table.frame

    shape = options.shape
    if shape == "auto":
        shape = "counts" if "count" in mapping else "messages"
    if shape == "counts" and "count" not in mapping:
        raise IngestError([Problem(label, "no count column found: name it with --count-col")])
    if shape == "messages" and "count" in mapping:
        ignored.append(mapping.pop("count"))

    if "timestamp" in mapping:
        ts_column = mapping["timestamp"]
        ts_values = frame[ts_column]
    else:
        ts_column = mapping["date"] + (" + " + mapping["time"] if "time" in mapping else "")
        ts_values = _combine_date_time(frame[mapping["date"]], frame[mapping["time"]] if "time" in mapping else None)
    if "channel" in mapping:
        channel_text = _as_text(frame[mapping["channel"]]).str.lower()
        # via categories: millions of rows share a handful of channel strings
        codes = pd.Categorical(channel_text.where(channel_text != "", "unknown"))
        channel = np.asarray(codes.categories, dtype=object)[codes.codes]
    else:
        channel = np.full(len(frame), options.channel.strip().lower() or DEFAULT_CHANNEL, dtype=object)

    problems: list[Problem] = []
    counts = None
    if shape == "counts":
        counts, count_problems = _parse_counts(table, mapping["count"])
        problems.extend(count_problems)
    try:
        times = parse_timestamps(
            table, ts_values, ts_column,
            source_tz=options.source_tz or options.tz,
            offsets_are_local=options.offsets_are_local,
            dayfirst=options.dayfirst,
            shape=shape,
            group=channel,
        )
    except IngestError as exc:
        raise IngestError(problems + exc.problems) from None
    ts_ns = times.utc_ns

    now = pd.Timestamp(options.now if options.now is not None else pd.Timestamp.now(tz="UTC"))
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    future = ts_ns > now.value
    if future.any():
        problems.append(_problem(table, ts_column, future, f"timestamp is in the future (after {now:%Y-%m-%d %H:%M} UTC)"))
    if shape == "counts":
        # naive data: the same wall-clock interval twice, except the two passes of the repeated hour
        wall = times.naive_ns if times.naive_ns is not None else ts_ns
        passes = times.second_pass if times.second_pass is not None else np.zeros(len(ts_ns), dtype=bool)
        dup = pd.DataFrame({"c": channel, "t": wall, "p": passes}).duplicated(keep=False).to_numpy()
        if dup.any():
            problems.append(_problem(table, ts_column, dup, "the same interval appears more than once"))
    if problems:
        raise IngestError(problems)

    notes = list(times.notes)
    if n_blank:
        notes.append(f"{n_blank:,} blank row(s) skipped (rows {', '.join(map(str, blank_rows))}{' ...' if n_blank > len(blank_rows) else ''})")
    if "channel" in mapping and (channel == "unknown").any():
        notes.append(f"{int((channel == 'unknown').sum()):,} row(s) with an empty channel counted as 'unknown'")

    extra = None
    if shape == "messages":
        extra = pd.DataFrame(index=np.arange(len(frame)))
        for role in ("message_id", "case_id", "label"):
            if role in mapping:
                extra[role] = _as_text(frame[mapping[role]]).astype("string").array
        if "handle_time" in mapping:
            seconds, n_invalid = _parse_handle_time(frame[mapping["handle_time"]])
            extra["handle_time_seconds"] = seconds
            if n_invalid:
                notes.append(f"{n_invalid:,} negative or unreadable handle time(s) ignored")
    report = FileReport(
        file=label,
        shape=shape,
        rows_read=len(frame),
        messages=len(frame) if shape == "messages" else int(np.nansum(counts)),
        columns=dict(mapping),
        ignored_columns=ignored,
        channels=sorted(set(channel.tolist())),
        start=pd.Timestamp(int(ts_ns.min()), tz="UTC").tz_convert(options.tz),
        end=pd.Timestamp(int(ts_ns.max()), tz="UTC").tz_convert(options.tz),
        notes=notes,
    )
    del table, frame, ts_values
    _release_memory()
    return _FileData(report, shape, ts_ns, channel, counts, extra)

# --------------------------------------------------------------------------------------------
# Many files -> one history


def _validate_options(options: IngestOptions) -> tuple[pd.Timedelta, str]:
    problems = []
    try:
        freq = pd.Timedelta(options.freq)
    except (ValueError, TypeError):
        freq = None
    if freq not in ALLOWED_FREQS:
        problems.append(Problem("--freq", f"interval {options.freq!r} is not supported: use 15min, 30min or 1h"))
    for name, zone in (("--tz", options.tz), ("--source-tz", options.source_tz)):
        if zone is None:
            continue
        try:
            pd.Timestamp("2024-01-01").tz_localize(zone)
        except Exception:
            problems.append(Problem(name, f"unknown time zone {zone!r}: use an IANA name such as Europe/Amsterdam"))
    if options.shape not in ("auto", "messages", "counts"):
        problems.append(Problem("--shape", f"unknown shape {options.shape!r}: use auto, messages or counts"))
    if problems:
        raise IngestError(problems)
    return freq, ALLOWED_FREQS[freq]


def _native_spacing_problem(data: _FileData, tz: str, freq_ns: int) -> Problem | None:
    """Count data coarser than the interval (daily counts asked for per hour) cannot be split.

    Counts are coarser when the smallest step between rows of a channel exceeds the interval and
    every row sits on that step's grid in wall-clock time (all at midnight for daily counts).
    Sparse data (rows only where the count is not zero) has rows off such a grid.
    """
    frame = pd.DataFrame({"c": data.channel, "t": data.ts_ns}).sort_values(["c", "t"])
    steps = frame.groupby("c")["t"].diff().dropna()
    steps = steps[steps > 0]
    if steps.empty:
        return None
    native = int(steps.min())
    if native <= freq_ns:
        return None
    wall = wall_clock_ns(data.ts_ns, tz)
    if np.any(np.mod(wall, min(native, 86400 * 10**9)) != 0):
        return None
    return Problem(
        data.report.file,
        f"the counts are per {_describe_step(native)} and cannot be split into intervals of "
        f"{_describe_step(freq_ns)}: export finer counts (or, for a daily total, counts per hour)",
    )


def _describe_step(ns: int) -> str:
    seconds = ns // 10**9
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}" if n != 1 else unit
    return f"{seconds} seconds"


def _source_frame(ts_ns: np.ndarray, channel: np.ndarray, weight: np.ndarray | None, spans: list[tuple[np.ndarray, int, int]], tz: str, freq_ns: int) -> pd.DataFrame:
    """Counts per (channel, interval) over the spans a source covers, zero where nothing arrived.

    ``spans`` lists (channels, first ns, last ns) per file of the source.
    """
    ds = floor_local(ts_ns, tz, freq_ns)
    agg = pd.DataFrame({"channel": channel, "ds": ds, "y": weight if weight is not None else 1.0})
    # min_count=1 keeps an interval whose only row is explicitly empty as missing
    agg = agg.groupby(["channel", "ds"], sort=False)["y"].sum(min_count=1)
    grid_parts = []
    for channels, first, last in spans:
        lo = int(floor_local(np.array([first]), tz, freq_ns)[0])
        hi = int(floor_local(np.array([last]), tz, freq_ns)[0])
        grid = np.arange(lo, hi + freq_ns, freq_ns, dtype=np.int64)
        for ch in channels:
            grid_parts.append(pd.DataFrame({"channel": ch, "ds": grid}))
    grid = pd.concat(grid_parts, ignore_index=True).drop_duplicates()
    merged = grid.merge(agg.rename("y").reset_index(), on=["channel", "ds"], how="left")
    explicit_missing = merged["y"].isna() & merged.set_index(["channel", "ds"]).index.isin(agg.index)
    merged["filled"] = merged["y"].isna() & ~explicit_missing.to_numpy()
    merged.loc[merged["filled"], "y"] = 0.0
    return merged


def ingest_files(paths: Sequence[str | Path], options: IngestOptions = IngestOptions(), labels: Sequence[str] | None = None) -> IngestResult:
    """Read one or more exports of one team into the canonical history.

    Parameters
    ----------
    paths : files (CSV/TSV/TXT, optionally gzip-compressed; XLSX; Parquet)
    options : zone, interval, column names and shape; see :class:`IngestOptions`
    labels : names for the files in messages (e.g. the original name of an uploaded file)

    Returns
    -------
    IngestResult with ``history`` (channel, ds, y), ``messages`` (message-level details, without
    text or personal data; ``None`` for count data) and the ``report``.

    Raises
    ------
    IngestError listing every problem found (file, column, rows); nothing is returned then.
    """
    freq, freq_label = _validate_options(options)
    freq_ns = int(freq.value)
    if not paths:
        raise IngestError([Problem("input", "no files given")])
    labels = list(labels) if labels is not None else [Path(p).name for p in paths]
    problems: list[Problem] = []
    files: list[_FileData] = []
    for path, label in zip(paths, labels):
        try:
            data = read_export(Path(path), options, label)
        except IngestError as exc:
            problems.extend(exc.problems)
            continue
        if data.shape == "counts":
            spacing = _native_spacing_problem(data, options.tz, freq_ns)
            if spacing:
                problems.append(spacing)
                continue
        files.append(data)
    if problems:
        raise IngestError(problems)

    # Sources in file order; message files with message ids pool into one, de-duplicated by id.
    sources: list[tuple[int, pd.DataFrame, str]] = []
    id_files = [i for i, f in enumerate(files) if f.shape == "messages" and f.extra is not None and "message_id" in f.extra]
    message_frames = []
    duplicates_removed = 0
    messages_read = 0
    for i, f in enumerate(files):
        if f.shape != "messages":
            continue
        messages_read += len(f.ts_ns)
        # assign, not copy: with copy-on-write the columns are shared, not duplicated
        message_frames.append(f.extra.assign(ts_ns=f.ts_ns, channel=f.channel, _file=np.int32(i)))
        f.extra = None
    if len(message_frames) == 1:
        messages_all = message_frames[0]
    else:
        messages_all = pd.concat(message_frames, ignore_index=True) if message_frames else None
    del message_frames
    if messages_all is not None and len(id_files) > 1:  # duplicates come from overlapping files
        # A message exported twice has the same id and the same time; rows repeated inside one
        # file, and ids that only number the rows of each export, are not duplicates.
        ids = messages_all["message_id"]
        with_id = (messages_all["_file"].isin(id_files) & ids.notna() & (ids != "")).to_numpy()
        dup = np.zeros(len(messages_all), dtype=bool)
        if _has_duplicates(ids[with_id]):
            key = pd.DataFrame({"id": ids[with_id].to_numpy(), "t": messages_all["ts_ns"].to_numpy()[with_id],
                                "f": messages_all["_file"].to_numpy()[with_id]})
            dup[with_id] = (key["f"] != key.groupby(["id", "t"])["f"].transform("min")).to_numpy()
            del key
        duplicates_removed = int(dup.sum())
        if duplicates_removed:
            messages_all = messages_all[~dup].reset_index(drop=True)
        del ids, with_id, dup
        _release_memory()

    pooled_name = " + ".join(files[i].report.file for i in id_files)
    if id_files:
        in_pool = messages_all["_file"].isin(id_files).to_numpy()
        pooled = messages_all if in_pool.all() else messages_all[in_pool]
        spans = [(files[i].report.channels, int(files[i].ts_ns.min()), int(files[i].ts_ns.max())) for i in id_files]
        frame = _source_frame(pooled["ts_ns"].to_numpy(), pooled["channel"].to_numpy(), None, spans, options.tz, freq_ns)
        sources.append((min(id_files), _with_spans(frame, pooled["ts_ns"].to_numpy(), pooled["channel"].to_numpy()), pooled_name))
    for i, f in enumerate(files):
        if i in id_files:
            continue
        spans = [(f.report.channels, int(f.ts_ns.min()), int(f.ts_ns.max()))]
        frame = _source_frame(f.ts_ns, f.channel, f.count, spans, options.tz, freq_ns)
        sources.append((i, _with_spans(frame, f.ts_ns, f.channel), f.report.file))
    sources.sort(key=lambda s: s[0])

    combined = []
    for rank, (_, frame, name) in enumerate(sources):
        frame = frame.assign(_rank=rank, _source=name)
        combined.append(frame)
    stacked = pd.concat(combined, ignore_index=True).sort_values(["channel", "ds", "_rank"], kind="stable")
    stacked, overlap = _merge_shared_boundaries(stacked)
    overlaps = []
    if overlap.any():
        lost = stacked[overlap]
        for (channel, source), part in lost.groupby(["channel", "_source"]):
            first = pd.Timestamp(int(part["ds"].min()), tz="UTC").tz_convert(options.tz)
            last = pd.Timestamp(int(part["ds"].max()), tz="UTC").tz_convert(options.tz)
            overlaps.append(
                f"{source} overlaps an earlier file on channel {channel} from {first:%Y-%m-%d %H:%M} to "
                f"{last:%Y-%m-%d %H:%M} ({len(part):,} intervals); without message ids to de-duplicate, "
                "those intervals were taken from the file listed first"
            )
    kept = stacked[~overlap.to_numpy()]
    if messages_all is not None and overlap.any():
        # messages of the dropped intervals are not kept either, so details match the counts
        dropped = stacked[overlap][["channel", "ds", "_source"]].drop_duplicates().assign(_drop=True)
        source_of_file = {i: (pooled_name if i in id_files else files[i].report.file) for i in range(len(files))}
        keys = pd.DataFrame({
            "channel": messages_all["channel"].to_numpy(),
            "ds": floor_local(messages_all["ts_ns"].to_numpy(), options.tz, freq_ns),
            "_source": messages_all["_file"].map(source_of_file).to_numpy(),
        })
        drop = keys.merge(dropped, on=["channel", "ds", "_source"], how="left")["_drop"].fillna(False).to_numpy(dtype=bool)
        messages_all = messages_all[~drop].reset_index(drop=True)

    history, gaps = _complete_grid(kept, options.tz, freq_ns)
    span_days = (history["ds"].max() - history["ds"].min() + freq).total_seconds() / 86400 if len(history) else 0.0
    if span_days < options.min_history_days:
        raise IngestError([
            Problem(
                ", ".join(labels),
                f"only {span_days:.1f} days of history; at least {options.min_history_days:g} are needed "
                "for a forecast",
            )
        ])
    report = IngestReport(
        tz=options.tz,
        freq=freq_label,
        files=[f.report for f in files],
        messages_read=messages_read,
        duplicates_removed=duplicates_removed,
        intervals=len(history),
        filled_zero_intervals=int(kept["filled"].sum()),
        gaps=gaps,
        overlaps=overlaps,
    )
    messages_out = None
    if messages_all is not None:
        messages_out = _messages_table(messages_all, options.tz)
    return IngestResult(history, messages_out, report)


def _has_duplicates(values: pd.Series) -> bool:
    """Whether any value occurs twice; counted in Arrow, far leaner than pandas' hash table."""
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.count_distinct(pa.array(values.astype("string[pyarrow]"))).as_py() < len(values)


def _with_spans(frame: pd.DataFrame, ts_ns: np.ndarray, channel: np.ndarray) -> pd.DataFrame:
    """Add each channel's first and last stamped instant in the source (``_lo``, ``_hi``)."""
    spans = pd.DataFrame({"channel": channel, "t": ts_ns}).groupby("channel")["t"].agg(_lo="min", _hi="max")
    return frame.join(spans, on="channel")


def _merge_shared_boundaries(stacked: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Intervals that several sources hold (``stacked`` sorted by channel, ds, rank).

    Where the sources' time spans do not overlap (one export ends at 12:25, the next starts at
    12:30), each holds its own part of the shared interval: the parts are added to the first
    source's row. Where the spans overlap, the later rows are returned as the overlap (the first
    source's value stands)."""
    dup = stacked.duplicated(subset=["channel", "ds"], keep="first").to_numpy()
    if not dup.any():
        return stacked, pd.Series(dup, index=stacked.index)
    groups = stacked.groupby(["channel", "ds"], sort=False)
    lo_first = groups["_lo"].transform("first").to_numpy()
    hi_first = groups["_hi"].transform("first").to_numpy()
    disjoint = dup & ((stacked["_hi"].to_numpy() < lo_first) | (stacked["_lo"].to_numpy() > hi_first))
    if disjoint.any():
        parts = stacked[disjoint].groupby(["channel", "ds"])["y"].sum(min_count=1)
        first = ~dup
        keys = pd.MultiIndex.from_frame(stacked.loc[first, ["channel", "ds"]])
        add = parts.reindex(keys).to_numpy(dtype=float)
        own = stacked.loc[first, "y"].to_numpy(dtype=float)
        merged = np.where(np.isnan(add), own, np.where(np.isnan(own), add, own + add))
        stacked = stacked.copy()
        stacked.loc[first, "y"] = merged
        stacked.loc[first, "filled"] = stacked.loc[first, "filled"].to_numpy() & np.isnan(add)
    keep = ~disjoint
    stacked, dup = stacked[keep], dup[keep]
    return stacked, pd.Series(dup, index=stacked.index)


def missing_runs(missing: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in a boolean array (stop exclusive)."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], np.asarray(missing, dtype=np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _complete_grid(kept: pd.DataFrame, tz: str, freq_ns: int) -> tuple[pd.DataFrame, list[Gap]]:
    parts = []
    gaps: list[Gap] = []
    for channel, part in kept.groupby("channel", sort=True):
        lo, hi = int(part["ds"].min()), int(part["ds"].max())
        grid = np.arange(lo, hi + freq_ns, freq_ns, dtype=np.int64)
        y = pd.Series(part["y"].to_numpy(), index=part["ds"].to_numpy()).reindex(grid)
        for start, stop in missing_runs(y.isna().to_numpy()):
            gaps.append(
                Gap(
                    channel,
                    pd.Timestamp(int(grid[start]), tz="UTC").tz_convert(tz),
                    pd.Timestamp(int(grid[stop - 1]), tz="UTC").tz_convert(tz),
                    int(stop - start),
                )
            )
        parts.append(pd.DataFrame({"channel": channel, "ds": grid, "y": y.to_numpy()}))
    history = pd.concat(parts, ignore_index=True)
    history["ds"] = pd.DatetimeIndex(history["ds"].to_numpy().astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tz)
    history["y"] = pd.array(np.round(history["y"].to_numpy()), dtype="Float64").astype("Int64")
    history["channel"] = history["channel"].astype(str)
    return history[["channel", "ds", "y"]], gaps


def _messages_table(messages: pd.DataFrame, tz: str) -> pd.DataFrame:
    out = pd.DataFrame({
        "ts": pd.DatetimeIndex(messages["ts_ns"].to_numpy().astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tz),
        "channel": messages["channel"].astype(str).to_numpy(),
    })
    for col in ("message_id", "case_id", "label"):
        values = messages[col].astype("string") if col in messages else pd.Series(pd.NA, index=messages.index, dtype="string")
        out[col] = values.mask(values == "").array
    out["handle_time_seconds"] = messages["handle_time_seconds"].to_numpy(dtype=float) if "handle_time_seconds" in messages else np.nan
    if out["ts"].is_monotonic_increasing:
        return out
    return out.sort_values("ts", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Canonical files


def format_iso(ds: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """ISO 8601 with the UTC offset, e.g. 2025-10-26T02:00:00+02:00 (vectorised)."""
    index = pd.DatetimeIndex(ds)
    if index.tz is None:
        raise ValueError("format_iso needs time-zone-aware timestamps")
    if len(index) == 0:
        return np.array([], dtype=object)
    utc = index.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy()
    wall = index.tz_localize(None).as_unit("ns").to_numpy()
    text = np.datetime_as_string(wall, unit="s")
    offset_s = (wall - utc).astype("timedelta64[s]").astype(np.int64)
    values, inverse = np.unique(offset_s, return_inverse=True)  # a handful of distinct offsets
    suffixes = np.array([f"{'+' if v >= 0 else '-'}{abs(int(v)) // 3600:02d}:{abs(int(v)) // 60 % 60:02d}" for v in values])
    return np.strings.add(text, suffixes[inverse.ravel()]).astype(object)


def history_table(history: pd.DataFrame) -> pd.DataFrame:
    """The canonical history as written to a file: ds (ISO 8601 with offset), channel, y."""
    return pd.DataFrame({"ds": format_iso(history["ds"]), "channel": history["channel"].to_numpy(), "y": history["y"].to_numpy()})


def history_to_csv(history: pd.DataFrame, path: str | Path) -> None:
    """Write the canonical history atomically (temporary file, then rename)."""
    write_csv_atomic(history_table(history), Path(path))


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename,
    so a reader never sees half a file and a failure leaves the previous file as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # the temporary name keeps the extension, for writers that choose the format by it (.xlsx)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; give it a normal file's mode
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextmanager
def atomic_outputs(*paths: str | Path | None) -> Iterator[list[Path | None]]:
    """Temporary paths beside each of ``paths`` (None stays None) that replace their targets only
    when the whole block succeeds: a command writing several files writes all of them or none."""
    with ExitStack() as stack:
        yield [stack.enter_context(atomic_output(p)) if p is not None else None for p in paths]


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a CSV atomically (see :func:`atomic_output`)."""
    with atomic_output(path) as tmp:
        frame.to_csv(tmp, index=False, encoding="utf-8")


def read_history(path: str | Path, tz: str = DEFAULT_TZ) -> pd.DataFrame:
    """Read a canonical history CSV (as written by ``webcare ingest``) back into a frame."""
    result = ingest_files([path], IngestOptions(tz=tz, shape="counts", columns=ColumnChoice(timestamp="ds", count="y"), min_history_days=0))
    return result.history


def read_interval_values(path: str | Path, value_column: str, tz: str = DEFAULT_TZ, *, what: str = "file",
                         allow_channel: bool = True) -> pd.DataFrame:
    """Read a table of values per interval (a forecast's ``yhat``, a staffing file's ``agents``):
    columns ``ds`` (ISO 8601 with offset, or naive local time in ``tz``), ``value_column`` (numbers
    >= 0) and optionally ``channel``. Returns ``channel, ds, value`` sorted, tz-aware in ``tz``.

    Raises :class:`IngestError` naming the file, column and rows for a missing column, unreadable
    times or values, negative values and intervals given twice.
    """
    path = Path(path)
    label = path.name
    table = read_table(path, label)
    frame = table.frame
    missing = [c for c in ("ds", value_column) if c not in frame.columns]
    if missing:
        raise IngestError([Problem(label, f"the {what} needs the column(s) {', '.join(missing)}; columns are: {', '.join(map(str, frame.columns))}")])
    _drop_blank_rows(table)
    frame = table.frame
    if frame.empty:
        raise IngestError([Problem(label, f"the {what} has no data rows")])
    channel = (_as_text(frame["channel"]).str.lower().to_numpy(dtype=object) if allow_channel and "channel" in frame.columns
               else np.full(len(frame), DEFAULT_CHANNEL, dtype=object))
    problems = []
    values, value_problems = _parse_counts(table, value_column)
    problems += [p for p in value_problems if p.message != "count is not a whole number"]
    empty = np.isnan(values)
    if empty.any():
        problems.append(_problem(table, value_column, empty, "value is empty"))
    try:
        times = parse_timestamps(table, frame["ds"], "ds", source_tz=tz, offsets_are_local=False, dayfirst=True,
                                 shape="counts", group=channel)
    except IngestError as exc:
        raise IngestError(problems + exc.problems) from None
    dup = pd.DataFrame({"c": channel, "t": times.utc_ns}).duplicated(keep=False).to_numpy()
    if dup.any():
        problems.append(_problem(table, "ds", dup, "the same interval appears more than once"))
    if problems:
        raise IngestError([Problem(p.file, p.message.replace("count", "value"), p.column, p.rows, p.n_rows) for p in problems])
    out = pd.DataFrame({
        "channel": channel.astype(str),
        "ds": pd.DatetimeIndex(times.utc_ns.astype("datetime64[ns]")).tz_localize("UTC").tz_convert(tz),
        "value": values,
    })
    return out.sort_values(["channel", "ds"], kind="stable").reset_index(drop=True)

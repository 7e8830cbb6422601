"""Readers for the input formats: a stream of Paper records and the problems met, with file and line.

Formats: the Hugging Face Daily Papers page saved as text; JSON Lines; CSV (comma, semicolon, tab or bar
separated); and the arXiv metadata snapshot (JSON Lines with id, title, abstract, authors, categories,
update_date). Files may be gzip, bzip2 or xz compressed (recognised by their first bytes, not their name) and
UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1252 (Excel's CSV export).

Everything streams: `iter_records` holds one line or one CSV row at a time, so memory does not grow with the
file. `read_file` collects the stream into lists. A bad record never stops a file: it is reported as a
SourceError with its file and line, and the good records are kept.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import hashlib
import io
import json
import lzma
import re
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal

Format = Literal["auto", "daily", "jsonl", "csv", "arxiv"]
FORMATS: tuple[str, ...] = ("auto", "daily", "jsonl", "csv", "arxiv")

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# "Jun 23, 2022", "Sep 3 2" (no year, 2 upvotes), "Jun 5, 2023 18" (18 upvotes), "Mar 28"
_DAILY_DATE = re.compile(rf"^(?P<month>{_MONTHS}) (?P<day>\d{{1,2}})(?:, (?P<year>\d{{4}}))?(?: (?P<up>\d+))?$")
_DAILY_BOILERPLATE = {
    "new",
    "Get trending papers in your email inbox!",
    "Subscribe",
    "Daily Papers",
    "byAK and the research community",
}
_MAX_TITLE = 400  # characters; a longer "title" line is an abstract that lost its title
_MAX_LINE = 1_000_000  # bytes; real abstracts are a few thousand characters, so a longer line is not a record
_HEAD = 65_536  # bytes read to recognise the compression, encoding and format
_CHUNK = 65_536  # bytes read at a time past an over-long line

_FORMAT_HINTS = {
    "daily": "a Daily Papers page saved as text: a title line, then its abstract line",
    "jsonl": "JSON records with 'title' and 'abstract'",
    "arxiv": "arXiv metadata records, one JSON object per line",
    "csv": "a header with 'title' and 'abstract' columns, then one row per paper",
}
_JSON_START = re.compile(r'[\[{]\s*(?:["{\[\]}\d-]|$)')  # "[{", "[]", '{"' ...; not "[Re] A study", "{BERT}: ..."


class SourceError(Exception):
    """A problem with an input that the user must fix; carries file and line."""

    def __init__(self, file: str | Path, message: str, line: int | None = None):
        self.file, self.line, self.message = str(file), line, message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class SourceNote:
    """Something the user should know about an input that was read anyway (its encoding)."""

    file: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    authors: str = ""
    date: str = ""  # as the source wrote it
    date_iso: str = ""  # YYYY-MM-DD when the full date is known
    upvotes: int | None = None
    url: str = ""
    categories: str = ""
    source: str = ""  # file name it came from
    source_id: str = ""  # id given by the source (arXiv id, ...)


@dataclass
class ReadResult:
    papers: list[Paper] = field(default_factory=list)
    problems: list[SourceError] = field(default_factory=list)
    notes: list[SourceNote] = field(default_factory=list)


Note = Callable[[SourceNote], None]


def normalise(text: str) -> str:
    """Collapse runs of white space and hard line breaks (arXiv metadata has both)."""
    return " ".join(text.split())  # str.split() splits on exactly what \s matches, and is several times faster


def paper_id(title: str, abstract: str) -> str:
    """Stable content hash of the normalised title and abstract: the same paper always gets the same id."""
    return _content_id(normalise(title), normalise(abstract))


def _content_id(title: str, abstract: str) -> str:  # of a normalised title and abstract
    key = title.casefold() + "\n" + abstract.casefold()
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def make_paper(title: str, abstract: str, **meta) -> Paper:
    return _paper(normalise(title), normalise(abstract), meta)


def _paper(title: str, abstract: str, meta: dict) -> Paper:  # title and abstract normalised
    return Paper(id=_content_id(title, abstract), title=title, abstract=abstract, **meta)


def parse_date(text: str) -> str:
    """ISO date from the usual spellings, or '' when there is no full date."""
    text = text.strip()
    match = re.match(r"^(\d{4}-\d{2}-\d{2})", text)
    if match:
        return match.group(1)
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return ""


def _snip(text: str, limit: int = 60) -> str:
    """Input text quoted in a message: normalised, cut to a readable length."""
    text = normalise(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _checked_paper(path: Path, number: int, label: str, title: str, abstract: str, **meta) -> Paper | SourceError:
    """The paper, or why not; title, abstract and the texts in meta come normalised (by _text)."""
    if not title or not abstract:
        missing = " and ".join(k for k, v in (("title", title), ("abstract", abstract)) if not v)
        return SourceError(path, f"{label} has no {missing}; skipped", number)
    return _paper(title, abstract, meta)


# --- opening: compression, encoding, format ---------------------------------------------------------------

_COMPRESSIONS = (
    (re.compile(rb"\x1f\x8b"), "gzip", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), "bzip2", bz2.BZ2File),
    (re.compile(rb"\xfd7zXZ\x00"), "xz", lzma.LZMAFile),
)
_COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz")
_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
_ZIP = "a zip archive; unzip it and ingest the files inside (gzip, bzip2 and xz files are read as they are)"
_SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods", ".numbers")
_SPREADSHEET = (
    "a spreadsheet, not CSV; nothing read. Fix: save it as CSV (in Excel: File > Save As > CSV UTF-8) and ingest "
    "that file"
)


@contextmanager
def _open(path: Path) -> Iterator[tuple[BinaryIO, str]]:
    """The file's bytes, decompressed when its first bytes say gzip, bzip2 or xz; and that compression's name."""
    with path.open("rb") as raw:
        magic = raw.read(10)
        raw.seek(0)
        for pattern, name, opener in _COMPRESSIONS:
            if pattern.match(magic):
                with opener(raw) as stream:
                    yield stream, name
                return
        yield raw, "zip" if magic.startswith(b"PK\x03\x04") else ""


def _read_failure(exc: BaseException, compression: str) -> str:
    if isinstance(exc, EOFError):
        return f"the {compression or 'compressed'} data ends early (an interrupted download?)"
    if isinstance(exc, zlib.error | lzma.LZMAError) or (compression and not isinstance(exc, FileNotFoundError)):
        return f"the {compression or 'compressed'} data is damaged ({exc})"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)


@dataclass
class _Head:
    """What the first bytes of a file say about it."""

    compression: str = ""
    encoding: str = "utf-8"  # or "utf-16"; lines that are not UTF-8 are read as cp1252 either way
    text: str = ""  # the first bytes decoded, for recognising the format
    complete: bool = False  # the whole file is in `text`
    problem: SourceError | None = None


def _read_head(path: Path) -> _Head:
    head = _Head()
    try:
        with _open(path) as (stream, head.compression):
            if head.compression == "zip":
                head.problem = SourceError(path, _SPREADSHEET if _inner_suffix(path) in _SPREADSHEETS else _ZIP)
                return head
            pieces: list[bytes] = []
            try:  # in pieces: a compressed file cut short still shows its start (the cut is reported when read)
                while (size := sum(map(len, pieces))) < _HEAD and (piece := stream.read(min(8192, _HEAD - size))):
                    pieces.append(piece)
                head.complete = size < _HEAD or not stream.read(1)
            except EOFError:
                if not pieces:
                    raise
            data = b"".join(pieces)
    except _READ_ERRORS as exc:
        head.problem = SourceError(path, _read_failure(exc, head.compression))
        return head
    inside = f" inside the {head.compression} file" if head.compression else ""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head.encoding = "utf-16"
        head.text = data.decode("utf-16", errors="replace")
    elif b"\x00" in data[:8192]:
        compressed = "" if head.compression else ", and not gzip, bzip2 or xz compressed"
        binary = f"binary data{inside} (not text{compressed}); skipped"
        head.problem = SourceError(path, _SPREADSHEET if _inner_suffix(path) in _SPREADSHEETS else binary)
        return head
    else:
        head.text = _decode_head(data)
    if head.complete and not head.text.strip("\ufeff \t\r\n"):
        head.problem = SourceError(path, f"empty file{inside}; nothing to ingest")
    return head


def _decode_head(data: bytes) -> str:
    """UTF-8 (the head may end inside a character), else Windows-1252, as the lines will be read."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8", errors="replace")
        return data.decode("cp1252", errors="replace")


def _inner_suffix(path: Path) -> str:
    """The suffix that names the content: '.csv' for papers.csv.gz."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in _COMPRESSED_SUFFIXES:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def _looks_like_json(head: str) -> bool:
    return bool(_JSON_START.match(head.lstrip("\ufeff \t\r\n")))


def detect_format(path: Path, head: str) -> Format:
    """Guess the format from the file's first characters (and its suffix for CSV)."""
    first = head.lstrip("\ufeff \t\r\n")
    if first.startswith("{"):
        try:
            record = json.loads(first.split("\n", 1)[0])
        except ValueError:
            record = None
        keys = set(record) if isinstance(record, dict) else set()
        return "arxiv" if {"update_date", "categories"} & keys and "id" in keys else "jsonl"
    header = first.split("\n", 1)[0].lower()
    delimited = any(d in header for d in ",;\t|")
    if _inner_suffix(path) in (".csv", ".tsv") or ("title" in header and "abstract" in header and delimited):
        return "csv"
    return "daily"


def _wrong_format(fmt: str, head: str) -> str | None:
    """The refusal when the format asked for cannot be what the file holds, or None."""
    first = head.lstrip("\ufeff \t\r\n")
    if fmt in ("daily", "csv") and _looks_like_json(first):
        return f"this looks like JSON, not {fmt}; nothing read. Fix: --format auto (or jsonl)"
    if fmt in ("jsonl", "arxiv") and not _looks_like_json(first):
        return f"not JSON (it starts with '{_snip(first, 40)}'); nothing read. Fix: --format auto, or the file's format"
    return None


def iter_records(path: Path, fmt: Format = "auto", on_note: Note | None = None) -> Iterator[Paper | SourceError]:
    """Stream one file's papers, and its problems in between; nothing is raised, and memory stays bounded.

    on_note receives what the user should know although nothing was skipped (text read as Windows-1252).
    A file that yields no paper always yields a problem naming it.
    """
    note: Note = on_note or (lambda _note: None)
    head = _read_head(path)
    if head.problem:
        yield head.problem
        return
    if fmt == "auto":
        fmt = detect_format(path, head.text)
    elif refusal := _wrong_format(fmt, head.text):
        yield SourceError(path, refusal)
        return
    found = problems = 0
    try:
        with _open(path) as (stream, _compression):
            lines = _lines(path, stream, head.encoding, note)
            if fmt == "daily":
                items = _read_daily(path, lines)
            elif fmt == "csv":
                items = _read_csv(path, lines, head.text)
            else:
                items = _read_json_lines(path, lines)
            for item in items:
                if isinstance(item, SourceError):
                    problems += 1
                else:
                    found += 1
                yield item
    except _READ_ERRORS as exc:
        problems += 1
        yield SourceError(path, f"{_read_failure(exc, head.compression)}; the rest of the file is skipped")
    if not found and not problems:
        yield SourceError(
            path, f"no papers found (read as {fmt}: {_FORMAT_HINTS[fmt]}); pass --format if that is wrong"
        )


def read_file(path: Path, fmt: Format = "auto") -> ReadResult:
    """Read one file into lists. Problems (bad lines, bad encoding, empty file) are returned, never raised."""
    result = ReadResult()
    for item in iter_records(path, fmt, result.notes.append):
        if isinstance(item, SourceError):
            result.problems.append(item)
        else:
            result.papers.append(item)
    return result


def iter_input_files(paths: list[Path]) -> Iterator[Path]:
    """Files named, and the files inside folders named (recursively, hidden ones left out)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                parts = child.relative_to(path).parts
                if child.is_file() and not any(p.startswith(".") for p in parts):
                    yield child
        else:
            yield path


# --- decoding ---------------------------------------------------------------------------------------------

Line = tuple[int, str]


def _lines(path: Path, stream: BinaryIO, encoding: str, note: Note) -> Iterator[Line | SourceError]:
    """Numbered lines without their line ends. A line over the limit, or not text, is a problem instead.

    UTF-8 first, line by line; a line that is not UTF-8 is read as Windows-1252 (what Excel writes), and the
    first such line is noted once.
    """
    if encoding == "utf-16":
        text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline="")
        for number, line in enumerate(iter(lambda: text.readline(_MAX_LINE + 1), ""), start=1):
            if len(line) > _MAX_LINE and not line.endswith("\n"):
                size = len(line.encode("utf-16-le")) + _skip_rest_of_line(text.readline, "\n")
                yield SourceError(
                    path, f"line is {size / 1e6:.1f} MB, over the 1 MB limit for one record; skipped", number
                )
            else:
                yield number, line.rstrip("\r\n").removeprefix("\ufeff")
        return
    noted = False
    for number, raw in enumerate(iter(lambda: stream.readline(_MAX_LINE + 1), b""), start=1):
        if len(raw) > _MAX_LINE and not raw.endswith(b"\n"):
            size = len(raw) + _skip_rest_of_line(stream.readline, b"\n")
            yield SourceError(path, f"line is {size / 1e6:.1f} MB, over the 1 MB limit for one record; skipped", number)
            continue
        raw = raw.rstrip(b"\r\n")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            try:
                line = raw.decode("cp1252")
            except UnicodeDecodeError:
                yield SourceError(
                    path,
                    f"neither UTF-8 nor Windows-1252 text (byte {exc.start + 1} of the line); skipped. "
                    "Fix: save the file as UTF-8",
                    number,
                )
                continue
            if not noted:
                noted = True
                note(
                    SourceNote(
                        str(path),
                        "not UTF-8: read as Windows-1252 (cp1252, what Excel writes) from this line on; if accented "
                        "letters look wrong, save the file as UTF-8",
                        number,
                    )
                )
        yield number, line.removeprefix("\ufeff") if number == 1 else line


def _skip_rest_of_line(readline: Callable, newline) -> int:
    """Read past the rest of an over-long line without keeping it; its size."""
    size = 0
    while piece := readline(_CHUNK):
        size += len(piece)
        if piece.endswith(newline):
            break
    return size


# --- Daily Papers page dump -------------------------------------------------------------------------------

_END = object()


class _Lookahead:
    """An iterator one can peek a few items into (the daily reader looks two lines ahead)."""

    def __init__(self, items: Iterable):
        self._items, self._buffer = iter(items), deque()

    def peek(self, k: int = 0):
        while len(self._buffer) <= k:
            item = next(self._items, _END)
            if item is _END:
                return None
            self._buffer.append(item)
        return self._buffer[k]

    def pop(self):
        return self._buffer.popleft() if self.peek(0) is not None else None


def _is_meta(text: str) -> bool:
    return text == "·" or text.startswith("•") or bool(_DAILY_DATE.match(text))


def _read_daily(path: Path, lines: Iterator[Line | SourceError]) -> Iterator[Paper | SourceError]:
    pending: deque[SourceError] = deque()

    def rows() -> Iterator[tuple[int, str | None]]:
        for item in lines:
            if isinstance(item, SourceError):  # reported once; the line still separates the rows around it
                pending.append(item)
                yield item.line or 0, None
            elif item[1].strip():
                yield item[0], item[1].strip()

    ahead = _Lookahead(rows())
    while (row := ahead.peek()) is not None and row[1] is not None:
        if row[1] not in _DAILY_BOILERPLATE and not _DAILY_DATE.match(row[1]):
            break
        ahead.pop()  # page header: boilerplate and the page's date
    while (row := ahead.peek()) is not None:
        yield from _drain(pending)
        number, title = row
        if title is None:  # undecodable line, already reported
            ahead.pop()
            continue
        if len(title) > _MAX_TITLE or _is_meta(title):
            what = "an abstract with no title" if len(title) > _MAX_TITLE else f"'{_snip(title, 40)}'"
            yield SourceError(path, f"expected a paper title, found {what}; skipped", number)
            ahead.pop()
            continue
        following = ahead.peek(1)
        if following is None or following[1] is None or _is_meta(following[1]):
            yield SourceError(path, f"title '{_snip(title)}' has no abstract; skipped", number)
            ahead.pop()
            while (row := ahead.peek()) is not None and row[1] is not None and _is_meta(row[1]):
                ahead.pop()
            continue
        abstract = following[1]
        after = ahead.peek(2)
        if len(abstract) < 200 and after is not None and after[1] is not None and len(after[1]) > _MAX_TITLE:
            # the "abstract" is the next paper's title: this title lost its abstract
            yield SourceError(path, f"title '{_snip(title)}' has no abstract; skipped", number)
            ahead.pop()
            continue
        ahead.pop()
        ahead.pop()
        meta: dict = {"source": path.name}
        # optional byline ("• 5 authors" or an organisation), then "·", then a date line with upvotes
        byline, dot = ahead.peek(0), ahead.peek(1)
        if dot is not None and dot[1] == "·" and byline[1] is not None and len(byline[1]) < 100:
            meta["authors"] = byline[1].lstrip("• ")
            ahead.pop()
        if (row := ahead.peek()) is not None and row[1] == "·":
            ahead.pop()
            if (row := ahead.peek()) is not None and row[1] is not None and (m := _DAILY_DATE.match(row[1])):
                meta["date"] = f"{m['month']} {m['day']}" + (f", {m['year']}" if m["year"] else "")
                meta["date_iso"] = parse_date(meta["date"]) if m["year"] else ""
                if m["up"]:
                    meta["upvotes"] = int(m["up"])
                ahead.pop()
        yield make_paper(title, abstract, **meta)
    yield from _drain(pending)


def _drain(pending: deque[SourceError]) -> Iterator[SourceError]:
    while pending:
        yield pending.popleft()


# --- JSON Lines and arXiv metadata ------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return normalise(str(value))


def _first(fields: dict, *keys: str):
    return next((fields[k] for k in keys if fields.get(k) not in (None, "", [], {})), None)


def _record_to_paper(path: Path, record: dict, number: int, label: str = "record") -> Paper | SourceError:
    fields = {str(k).lower(): v for k, v in record.items()}
    source_id = _text(_first(fields, "id", "arxiv_id", "paper_id"))
    url = _text(fields.get("url"))
    if not url and re.match(r"^\d{4}\.\d{4,5}(v\d+)?$|^[a-z\-]+(\.[A-Z]{2})?/\d{7}$", source_id):
        url = f"https://arxiv.org/abs/{source_id}"
    when = _text(_first(fields, "date", "published", "publishedat", "published_at", "update_date"))
    upvotes = fields.get("upvotes")
    return _checked_paper(
        path,
        number,
        label,
        _text(fields.get("title")),
        _text(_first(fields, "abstract", "summary")),
        authors=_text(fields.get("authors")),
        date=when,
        date_iso=parse_date(when) if when else "",
        upvotes=int(upvotes) if isinstance(upvotes, int | float) and not isinstance(upvotes, bool) else None,
        url=url,
        categories=_text(fields.get("categories")),
        source=path.name,
        source_id=source_id,
    )


def _read_json_lines(path: Path, lines: Iterator[Line | SourceError]) -> Iterator[Paper | SourceError]:
    for item in lines:
        if isinstance(item, SourceError):
            yield item
            continue
        number, text = item
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError as exc:
            message = getattr(exc, "msg", str(exc))
            yield SourceError(
                path, f"not valid JSON ({message} at column {getattr(exc, 'colno', '?')}); skipped", number
            )
            continue
        except RecursionError:
            yield SourceError(path, "not valid JSON (nested too deeply); skipped", number)
            continue
        if not isinstance(value, dict):
            yield SourceError(path, "expected a JSON object per line; skipped", number)
            continue
        yield _record_to_paper(path, value, number)


# --- CSV --------------------------------------------------------------------------------------------------

_DELIMITERS = ",;\t|"


def _columns(header: str, delimiter: str) -> list[str]:
    try:
        return [c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter), [])]
    except csv.Error:
        return []


def _has_columns(columns: list[str]) -> bool:
    return "title" in columns and ("abstract" in columns or "summary" in columns)


def _delimiter(path: Path, head: str) -> str:
    """The delimiter under which the header has 'title' and 'abstract' columns; else csv.Sniffer's guess."""
    lines = head.lstrip("\ufeff").splitlines()
    header = lines[0] if lines else ""
    candidates = "\t,;|" if _inner_suffix(path) == ".tsv" else _DELIMITERS
    for delimiter in candidates:
        if _has_columns(_columns(header, delimiter)):
            return delimiter
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20])[:16384], delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return candidates[0]


def _read_csv(path: Path, lines: Iterator[Line | SourceError], head: str) -> Iterator[Paper | SourceError]:
    pending: deque[SourceError] = deque()
    last_bad = 0

    def physical_lines() -> Iterator[str]:  # one item per line, so the reader's line_num is the line number
        nonlocal last_bad
        for item in lines:
            if isinstance(item, SourceError):
                pending.append(item)
                last_bad = item.line or last_bad
                yield "\n"
            else:
                yield item[1] + "\n"

    delimiter = _delimiter(path, head)
    csv.field_size_limit(_MAX_LINE)  # a quote never closed would otherwise read the rest of the file as one field
    reader = csv.reader(physical_lines(), delimiter=delimiter)
    try:
        columns = [c.strip().lower() for c in next(reader, [])]
    except csv.Error as exc:
        yield from _drain(pending)
        yield SourceError(path, f"malformed CSV header ({exc}); nothing read", 1)
        return
    yield from _drain(pending)
    if not _has_columns(columns):
        missing = "title" if "title" not in columns else "abstract"
        name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "bar"}[delimiter]
        yield SourceError(
            path,
            f"CSV has no '{missing}' column (columns found, {name}-separated: {', '.join(columns) or 'none'}); "
            "the header needs 'title' and 'abstract'",
            1,
        )
        return
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            yield from _drain(pending)
            yield SourceError(
                path, f"malformed CSV ({exc}: a quote never closed?); the rest of the file is skipped", start
            )
            return
        yield from _drain(pending)
        if row is None:
            return
        if not any(cell.strip() for cell in row) or last_bad >= start:
            continue  # a blank line, or a row holding a line already reported
        if len(row) > len(columns):
            yield SourceError(path, f"row has {len(row) - len(columns)} more fields than the header; skipped", start)
            continue
        yield _record_to_paper(path, dict(zip(columns, row, strict=False)), start, "row")

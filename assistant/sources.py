"""Readers for the input formats: a stream of Paper records and the problems met, with file and line.

Formats: the Hugging Face Daily Papers page saved as text; JSON (JSON Lines, a JSON array, pretty-printed
or not, or an object holding the list of records as the Hugging Face API returns it); CSV (comma, semicolon,
tab or bar separated); and the arXiv metadata snapshot (JSON Lines with id, title, abstract, authors,
categories, update_date). Files may be gzip, bzip2 or xz compressed (recognised by their first bytes, not
their name) and UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1252 (Excel's CSV export).

Everything streams: `iter_records` holds one line, one CSV row or one JSON record at a time (a top-level JSON
object, the form that wraps the list of records, is parsed whole up to 64 MB), so memory does not grow with
the file. `read_file` collects the stream into lists. A bad record never stops a file: it is reported as a
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
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO, Literal

Format = Literal["auto", "daily", "jsonl", "csv", "arxiv"]
FORMATS: tuple[str, ...] = ("auto", "daily", "jsonl", "csv", "arxiv")

# Terminal control sequences and characters: CSI (colours, cursor moves, clear screen), OSC (window title,
# hyperlinks), DCS/SOS/PM/APC strings, other escapes, their 8-bit forms, then any C0/C1 control left. Tab,
# newline, carriage return, vertical tab and form feed are white space and collapse to one space instead.
_CONTROL = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x9c]*(?:\x07|\x9c)"
    r"|[\x00-\x08\x0e-\x1f\x7f-\x9f]"
)
_ANY_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")  # every sequence above starts with one of these
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
_MAX_JSON_OBJECT = 64_000_000  # characters; a top-level JSON object is parsed whole, up to this size
_HEAD = 65_536  # bytes read to recognise the compression, encoding and format
_CHUNK = 65_536  # bytes read at a time from a JSON document

_FORMAT_HINTS = {
    "daily": "a Daily Papers page saved as text: a title line, then its abstract line",
    "jsonl": "JSON records with 'title' and 'abstract'",
    "arxiv": "arXiv metadata records, one JSON object per line",
    "csv": "a header with 'title' and 'abstract' columns, then one row per paper",
}
_JSON_START = re.compile(r'[\[{]\s*(?:["{\[\]}\d-]|$)')  # "[{", "[]", '{"' ...; not "[Re] A study", "{BERT}: ..."
_HTML_START = re.compile(r"<(?:!doctype\s+html|html|head|body|meta|div|script|link|!--)\b", re.I)
_HTML_TAGS = (
    "a|abbr|article|body|br|button|div|figure|footer|form|h[1-6]|head|header|hr|html|iframe|img|input|label|li|"
    "link|main|meta|nav|noscript|ol|option|p|path|picture|script|section|select|source|span|style|svg|table|td|"
    "th|time|title|tr|ul"
)
# a tag at the start ("<h3 class=...>", "</div>"), or a tag with attributes anywhere; inline "<i>E. coli</i>"
# (Crossref writes titles so) is left alone
_HTML_FRAGMENT = re.compile(
    rf"^<(?:!doctype|!--|/?(?:{_HTML_TAGS})(?:[\s/>]|$))|<[A-Za-z][\w-]*\s+[\w:-]+\s*=\s*[\"']", re.I
)
# '"date": "Mar 11",', '{"title": ...', '[{"id": ...', '}, {' but not '"Why Should I Trust You?": ...'
_JSON_FRAGMENT = re.compile(
    r'^(?:[\[{]\s*)*"[^"\s]{1,60}"\s*:\s*(?:["\[{\d-]|true\b|false\b|null\b|$)|^[\[{]\s*[\[{"]|^[}\]]'
)


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
    """Something the user should know about an input that was read anyway (its encoding, dates left open)."""

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
    """Drop terminal control sequences and characters; collapse runs of white space and hard line breaks."""
    if _ANY_CONTROL.search(text):
        text = _CONTROL.sub("", text)
    return " ".join(text.split())  # str.split() splits on exactly what \s matches, and is several times faster


def paper_id(title: str, abstract: str) -> str:
    """Stable content hash of the normalised title and abstract: the same paper always gets the same id."""
    return _content_id(normalise(title), normalise(abstract))


def _content_id(title: str, abstract: str) -> str:  # of a normalised title and abstract
    key = title.casefold() + "\n" + abstract.casefold()
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def make_paper(title: str, abstract: str, **meta) -> Paper:
    meta = {k: normalise(v) if isinstance(v, str) and k != "source" else v for k, v in meta.items()}
    return _paper(normalise(title), normalise(abstract), meta)


def _paper(title: str, abstract: str, meta: dict) -> Paper:  # title, abstract and texts in meta normalised
    return Paper(id=_content_id(title, abstract), title=title, abstract=abstract, **meta)


def parse_date(text: str) -> str:
    """ISO date from the usual spellings, or '' when there is no full, real date (2024-13-45 is none)."""
    text = text.strip()
    match = re.match(r"^(\d{4})-(\d{2})-(\d{2})(?!\d)", text)
    if match:
        try:
            return date(*map(int, match.groups())).isoformat()
        except ValueError:
            return ""
    for fmt in ("%b %d, %Y", "%B %d, %Y", "%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    if re.match(r"^(?:[A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}", text):  # RFC 2822 (arXiv API)
        try:
            return parsedate_to_datetime(text).date().isoformat()
        except (TypeError, ValueError, OverflowError):
            return ""
    return ""


def _snip(text: str, limit: int = 60) -> str:
    """Input text quoted in a message: control characters gone, cut to a readable length."""
    text = normalise(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _not_a_title(title: str) -> str | None:
    """Why a line cannot be a paper's title (punctuation, markup, a piece of JSON), or None."""
    if not any(ch.isalpha() for ch in title):
        return "it has no letters"
    if _HTML_FRAGMENT.search(title):
        return "it looks like HTML markup"
    if _JSON_FRAGMENT.match(title):
        return "it looks like a piece of JSON: for a JSON file use --format auto or jsonl"
    return None


def _checked_paper(path: Path, number: int, label: str, title: str, abstract: str, **meta) -> Paper | SourceError:
    """The paper, or why not; title, abstract and the texts in meta come normalised (by _text)."""
    if not title or not abstract:
        missing = " and ".join(k for k, v in (("title", title), ("abstract", abstract)) if not v)
        return SourceError(path, f"{label} has no {missing}; skipped", number)
    if reason := _not_a_title(title):
        return SourceError(path, f"{label}: '{_snip(title)}' is not a paper title ({reason}); skipped", number)
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
def _open(path: Path) -> Iterator[tuple[BinaryIO, str, BinaryIO]]:
    """The file's bytes, decompressed when its first bytes say gzip, bzip2 or xz; that compression's name; and
    the file as stored (whose position is how far the file has been read)."""
    with path.open("rb") as raw:
        magic = raw.read(10)
        raw.seek(0)
        for pattern, name, opener in _COMPRESSIONS:
            if pattern.match(magic):
                with opener(raw) as stream:
                    yield stream, name, raw
                return
        yield raw, "zip" if magic.startswith(b"PK\x03\x04") else "", raw


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
        with _open(path) as (stream, head.compression, _raw):
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
    elif kind := _markup(head.text):
        head.problem = SourceError(path, kind)
    return head


def _decode_head(data: bytes) -> str:
    """UTF-8 (the head may end inside a character), else Windows-1252, as the lines will be read."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8", errors="replace")
        return data.decode("cp1252", errors="replace")


def _markup(text: str) -> str | None:
    """The refusal for a web page or XML document, which no reader can take, or None."""
    first = text.lstrip("\ufeff \t\r\n")
    if not first.startswith("<"):
        return None
    if _HTML_START.match(first) or re.search(r"<(?:html|body)\b", first[:4096], re.I):
        return (
            "a web page saved as HTML, not a list of papers; nothing read. Fix: save the page as text (in the "
            "browser select all, copy, and paste into a .txt file), or download the papers as JSON from "
            "https://huggingface.co/api/daily_papers?date=YYYY-MM-DD and ingest that file"
        )
    if first.startswith("<?xml"):
        return (
            "an XML document (a feed?), which is not one of the input formats; nothing read. Fix: convert it to "
            "JSON Lines with 'title' and 'abstract' in each record"
        )
    return None


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
    if _looks_like_json(first):
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


def iter_records(
    path: Path, fmt: Format = "auto", on_note: Note | None = None, on_read: Callable[[int], None] | None = None
) -> Iterator[Paper | SourceError]:
    """Stream one file's papers, and its problems in between; nothing is raised, and memory stays bounded.

    on_note receives what the user should know although nothing was skipped (text read as Windows-1252,
    dates without a year). on_read receives, before each item, how many bytes of the file as stored (compressed,
    for a compressed file) have been read, for a progress display. A file that yields no paper always yields a
    problem naming it.
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
        with _open(path) as (stream, _compression, raw):
            lines = _lines(path, stream, head.encoding, note)
            if fmt == "daily":
                items = _read_daily(path, lines, note)
            elif fmt == "csv":
                items = _read_csv(path, lines, head.text)
            elif _json_layout(head) == "lines":
                items = _read_json_lines(path, lines)
            else:
                items = _read_json_document(path, _chunks(path, stream, head.encoding, note))
            for item in items:
                if isinstance(item, SourceError):
                    problems += 1
                else:
                    found += 1
                if on_read and not raw.closed:  # a UTF-16 reader's text wrapper closes it once the text ends
                    on_read(raw.tell())
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


def _chunks(path: Path, stream: BinaryIO, encoding: str, note: Note) -> Iterator[str]:
    """The text in pieces of about 64 KB (for JSON documents, whose one line may be the whole file)."""
    if encoding == "utf-16":
        text = io.TextIOWrapper(stream, encoding="utf-16", errors="replace", newline="")
        yield from iter(lambda: text.read(_CHUNK), "")
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    first, fallback, lines = True, False, 1
    while True:
        raw = stream.read(_CHUNK)
        if fallback:
            text = raw.decode("cp1252", errors="replace")
        else:
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:  # exc.object holds the undecoded bytes, exc.start the bad one
                good = exc.object[: exc.start].decode("utf-8")
                text = good + exc.object[exc.start :].decode("cp1252", errors="replace")
                fallback = True
                line = lines + good.count("\n")
                note(
                    SourceNote(
                        str(path),
                        "not UTF-8: read as Windows-1252 (cp1252) from this line on; if accented letters look "
                        "wrong, save the file as UTF-8",
                        line,
                    )
                )
        if first:
            text, first = text.removeprefix("\ufeff"), False
        if text:
            lines += text.count("\n")
            yield text
        if not raw:
            return


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


def _date_in_name(path: Path) -> date | None:
    match = re.search(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)", path.name)
    try:
        return date(*map(int, match.groups())) if match else None
    except ValueError:
        return None


def _with_year(month: str, day: int, reference: date) -> str:
    """The date of a yearless 'Mar 10' on a page of `reference`: that year, or the year before if it is later."""
    month_number = datetime.strptime(month, "%b").month
    year = reference.year if (month_number, day) <= (reference.month, reference.day) else reference.year - 1
    try:
        return date(year, month_number, day).isoformat()
    except ValueError:
        return ""


def _read_daily(path: Path, lines: Iterator[Line | SourceError], note: Note) -> Iterator[Paper | SourceError]:
    """Daily Papers dates carry no year when it is the year the page was saved ("Mar 10" next to "Dec 28, 2023").

    That year is taken from the page header when it has one ("Mar 11, 2025"), else from a date in the file name
    (daily-papers-2025-03-11.txt); a date after that day belongs to the year before. Without either, such dates
    keep no date_iso: the years written on other papers' lines are not the missing year, so none is guessed.
    """
    pending: deque[SourceError] = deque()

    def rows() -> Iterator[tuple[int, str | None]]:
        for item in lines:
            if isinstance(item, SourceError):  # reported once; the line still separates the rows around it
                pending.append(item)
                yield item.line or 0, None
            elif item[1].strip():
                yield item[0], item[1].strip()

    ahead = _Lookahead(rows())
    reference = _date_in_name(path)
    while (row := ahead.peek()) is not None and row[1] is not None:
        match = _DAILY_DATE.match(row[1])
        if row[1] not in _DAILY_BOILERPLATE and not match:
            break
        if match and match["year"] and (iso := parse_date(f"{match['month']} {match['day']}, {match['year']}")):
            reference = date.fromisoformat(iso)
        ahead.pop()  # page header: boilerplate and the page's date
    undated, first_undated = 0, (0, "")  # dates without a year that nothing in the file dates
    while (row := ahead.peek()) is not None:
        yield from _drain(pending)
        number, title = row
        if title is None:  # undecodable line, already reported
            ahead.pop()
            continue
        reason = _not_a_title(title) if len(title) <= _MAX_TITLE and not _is_meta(title) else None
        if len(title) > _MAX_TITLE or _is_meta(title) or reason:
            what = "an abstract with no title" if len(title) > _MAX_TITLE else f"'{_snip(title, 40)}'"
            yield SourceError(
                path, f"expected a paper title, found {what}{f' ({reason})' if reason else ''}; skipped", number
            )
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
                if m["year"]:
                    meta["date_iso"] = parse_date(meta["date"])
                elif reference:
                    meta["date_iso"] = _with_year(m["month"], int(m["day"]), reference)
                else:
                    undated += 1
                    first_undated = first_undated if undated > 1 else (row[0], meta["date"])
                if m["up"]:
                    meta["upvotes"] = int(m["up"])
                ahead.pop()
        yield make_paper(title, abstract, **meta)
    yield from _drain(pending)
    if undated:
        line, example = first_undated
        papers = "1 paper has" if undated == 1 else f"{undated} papers have"
        note(
            SourceNote(
                str(path),
                f"{papers} a date without a year (the first: '{example}'); Daily Papers pages leave out the year "
                "the page was saved in, and this file does not say it, so these papers get no full date "
                "(--since/--until leave them out). Fix: put the day the page was saved in the file name, e.g. "
                "daily-papers-2025-11-20.txt",
                line,
            )
        )


def _drain(pending: deque[SourceError]) -> Iterator[SourceError]:
    while pending:
        yield pending.popleft()


# --- JSON: JSON Lines, arrays, API responses, the arXiv metadata snapshot ---------------------------------


def _text(value) -> str:
    """A field's text; a list is joined with commas; an object gives its name, never its Python repr."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, list):
        return ", ".join(t for v in value if (t := _text(v)))
    if isinstance(value, dict):
        return _person(value)
    return normalise(str(value))


def _person(value) -> str:
    """An author's name: "A", {"name": "A"}, {"user": {"fullname": "A"}}, or arXiv's ["Last", "First", ""]."""
    if isinstance(value, dict):
        lower = {str(k).lower(): v for k, v in value.items()}
        for key in ("name", "fullname", "full_name", "display_name"):
            if isinstance(lower.get(key), str) and lower[key].strip():
                return normalise(lower[key])
        user = lower.get("user")
        if isinstance(user, dict):  # in a Hugging Face user object "name" is the handle: the full name first
            for key in ("fullname", "name", "user"):
                if isinstance(user.get(key), str) and user[key].strip():
                    return normalise(user[key])
        return ""
    if isinstance(value, list):
        last, first, *rest = [_text(v) for v in value] + ["", ""]
        return normalise(" ".join((first, last, *rest)))
    return _text(value)


def _authors(value) -> str:
    if isinstance(value, list):
        return ", ".join(name for v in value if (name := _person(v)))
    return _person(value) if isinstance(value, dict) else _text(value)


def _count(value) -> int | None:
    """Upvotes: 12, 12.0, "12", "1,204", "1.2k"; anything else is unknown."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "")
        if match := re.fullmatch(r"(\d+(?:\.\d+)?)\s*[kK]", text):
            return round(float(match[1]) * 1000)
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, int | float) and value >= 0 and float(value).is_integer():
        return int(value)
    return None


def _first(fields: dict, *keys: str):
    return next((fields[k] for k in keys if fields.get(k) not in (None, "", [], {})), None)


_RECORD_KEYS = {"title", "abstract", "summary", "paper"}


def _is_record(value: dict) -> bool:
    return any(str(k).lower() in _RECORD_KEYS for k in value)


def _record_to_paper(path: Path, record: dict, number: int, label: str = "record") -> Paper | SourceError:
    fields = {str(k).lower(): v for k, v in record.items()}
    inner = fields.get("paper")
    if isinstance(inner, dict):  # Hugging Face API: {"paper": {...}, "title": ..., "summary": ..., ...}
        fields |= {str(k).lower(): v for k, v in inner.items() if v not in (None, "", [], {})}
    source_id = _text(_first(fields, "id", "arxiv_id", "paper_id"))
    url = _text(fields.get("url"))
    if not url and re.match(r"^\d{4}\.\d{4,5}(v\d+)?$|^[a-z\-]+(\.[A-Z]{2})?/\d{7}$", source_id):
        url = f"https://arxiv.org/abs/{source_id}"
    when = _text(_first(fields, "date", "published", "publishedat", "published_at", "update_date"))
    return _checked_paper(
        path,
        number,
        label,
        _text(fields.get("title")),
        _text(_first(fields, "abstract", "summary")),
        authors=_authors(_first(fields, "authors", "authors_parsed")),
        date=when,
        date_iso=parse_date(when) if when else "",
        upvotes=_count(fields.get("upvotes")),
        url=url,
        categories=_text(fields.get("categories")),
        source=path.name,
        source_id=source_id,
    )


def _kind(value) -> str:
    return {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(type(value), "a number")


def _records_in(path: Path, value, number: int) -> Iterator[Paper | SourceError]:
    """The records a JSON value holds: itself, the list it is, or the one list of records inside it."""
    if isinstance(value, dict) and _is_record(value):
        yield _record_to_paper(path, value, number)
        return
    if isinstance(value, dict):
        lists = [(k, v) for k, v in value.items() if isinstance(v, list) and any(isinstance(x, dict) for x in v)]
        with_records = [(k, v) for k, v in lists if any(isinstance(x, dict) and _is_record(x) for x in v)]
        chosen = with_records if len(with_records) == 1 else lists if len(lists) == 1 else []
        if not chosen:
            keys = ", ".join(map(str, list(value)[:8])) or "none"
            yield SourceError(
                path, f"a JSON object with no 'title' and no one list of records in it (keys: {keys}); skipped", number
            )
            return
        key, items = chosen[0]
        label = f"record {{}} of '{key}'"
    elif isinstance(value, list):
        items, label = value, "record {} of the list"
    else:
        yield SourceError(
            path, f"expected a JSON object with 'title' and 'abstract', found {_kind(value)}; skipped", number
        )
        return
    for i, item in enumerate(items, start=1):
        if isinstance(item, dict):
            yield _record_to_paper(path, item, number, label.format(i))
        else:
            yield SourceError(path, f"{label.format(i)} is {_kind(item)}, not a JSON object; skipped", number)


def _json_layout(head: _Head) -> str:
    """'lines' for JSON Lines (one record a line, a broken line skipped alone), else 'document'."""
    first = head.text.lstrip("\ufeff \t\r\n")
    line, newline, _ = first.partition("\n")
    line = line.strip()
    if not newline and not head.complete:  # one line longer than the head: a one-line array or object
        return "document"
    if not line.startswith("{") or line.endswith(("{", "[", ",", ":")):
        return "document"  # an array, or an object that goes on over the next lines
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return "lines"  # a broken record line
    return "lines" if isinstance(value, dict) and _is_record(value) else "document"


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
        yield from _records_in(path, value, number)


class _JsonError(Exception):
    def __init__(self, message: str, line: int):
        super().__init__(message)
        self.message, self.line = message, line


_DECODER = json.JSONDecoder()
_NOT_WS = re.compile(r"\S")


class _JsonStream:
    """Top-level JSON values read one at a time from text pieces, and the records of a top-level array one at
    a time, with json's raw_decode: memory holds one record (plus a 64 KB piece), not the document."""

    def __init__(self, chunks: Iterator[str]):
        self._chunks = chunks
        self.buf, self.pos, self.eof = "", 0, False
        self._line, self._counted = 1, 0  # line number of buf[_counted]

    def line_at(self, pos: int) -> int:
        if pos >= self._counted:
            self._line += self.buf.count("\n", self._counted, pos)
            self._counted = pos
        return self._line

    def _more(self, at_least: int = 1) -> bool:
        """Drop what was read, append at least `at_least` more characters; False at the end of the file."""
        self.line_at(self.pos)
        self.buf, self._counted, self.pos = self.buf[self.pos :], 0, 0
        pieces, added = [], 0
        while added < at_least:
            piece = next(self._chunks, None)
            if piece is None:
                self.eof = True
                break
            pieces.append(piece)
            added += len(piece)
        self.buf += "".join(pieces)
        return added > 0

    def next_char(self) -> str:
        """Skip white space; the next character, or '' at the end."""
        while True:
            match = _NOT_WS.search(self.buf, self.pos)
            if match:
                self.pos = match.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)
            if not self._more():
                return ""

    def _error(self, exc: json.JSONDecodeError) -> _JsonError:
        column = exc.pos - self.buf.rfind("\n", 0, exc.pos)
        return _JsonError(
            f"not valid JSON ({exc.msg} at column {column}); the rest of the file is skipped", self.line_at(exc.pos)
        )

    def value(self, limit: int, too_big: str):
        """The JSON value starting at pos, read whole; the error `too_big` past `limit` characters."""
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # an error well before the end of what is held is in the text; otherwise the value may go on
                definite = exc.pos < len(self.buf) - 16 and not exc.msg.startswith("Unterminated string")
                if definite or self.eof:
                    raise self._error(exc) from None
                held = len(self.buf) - self.pos
                if held > limit:
                    raise _JsonError(too_big, self.line_at(self.pos)) from None
                self._more(max(held, _CHUNK))  # as much again (O(n) over the retries), then decode again
                continue
            except RecursionError:
                raise _JsonError(
                    "not valid JSON (nested too deeply); the rest of the file is skipped", self.line_at(self.pos)
                ) from None
            size, self.pos = end - self.pos, end
            return value, size

    def array(self) -> Iterator[tuple[int, object, int]]:
        """The items of the array starting at pos: (line, value, size in characters)."""
        start = self.line_at(self.pos)
        self.pos += 1
        if self.next_char() == "]":
            self.pos += 1
            return
        while True:
            if not self.next_char():
                raise _JsonError(f"the JSON array starting at line {start} is not closed (the file ends early)", start)
            line = self.line_at(self.pos)
            value, size = self.value(
                _MAX_LINE,
                "a JSON record over the 1 MB limit for one record starts here, or the JSON is broken; the rest of "
                "the file is skipped",
            )
            yield line, value, size
            char = self.next_char()
            if char == ",":
                self.pos += 1
            elif char == "]":
                self.pos += 1
                return
            elif not char:
                raise _JsonError(f"the JSON array starting at line {start} is not closed (the file ends early)", line)
            else:
                column = self.pos - self.buf.rfind("\n", 0, self.pos)
                raise _JsonError(
                    f"not valid JSON (expected ',' or ']' after a record, found '{_snip(char)}' at column {column}); "
                    "the rest of the file is skipped",
                    self.line_at(self.pos),
                )


def _read_json_document(path: Path, chunks: Iterator[str]) -> Iterator[Paper | SourceError]:
    """JSON arrays (records streamed), objects (a record, or one holding the list of records), or a sequence of
    them (pretty-printed JSON Lines)."""
    stream = _JsonStream(chunks)
    try:
        while char := stream.next_char():
            line = stream.line_at(stream.pos)
            if char == "[":
                for line, value, size in stream.array():
                    if size > _MAX_LINE:
                        yield SourceError(
                            path, f"record is {size / 1e6:.1f} MB, over the 1 MB limit for one record; skipped", line
                        )
                    elif isinstance(value, list):
                        yield SourceError(
                            path, "expected a JSON object with 'title' and 'abstract', found a list; skipped", line
                        )
                    else:
                        yield from _records_in(path, value, line)
            else:
                value, _size = stream.value(
                    _MAX_JSON_OBJECT,
                    "a JSON object over the 64 MB limit for one object starts here, or the JSON is broken; nothing "
                    "more is read. Fix: write the records as JSON Lines, one a line (e.g. jq -c '.papers[]')",
                )
                yield from _records_in(path, value, line)
    except _JsonError as exc:
        yield SourceError(path, exc.message, exc.line)


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

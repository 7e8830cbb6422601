"""Readers for the input formats; each returns Paper records and the problems met, with file and line.

Formats: the Hugging Face Daily Papers page dump (plain text), JSONL, CSV, and the arXiv metadata snapshot
(JSONL with id, title, abstract, authors, categories, update_date). A bad record never stops a file: it is
reported as a Problem and the good records are kept.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

Format = Literal["auto", "daily", "jsonl", "csv", "arxiv"]
FORMATS: tuple[str, ...] = ("auto", "daily", "jsonl", "csv", "arxiv")

_WS = re.compile(r"\s+")
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


class SourceError(Exception):
    """A problem with an input that the user must fix; carries file and line."""

    def __init__(self, file: str | Path, message: str, line: int | None = None):
        self.file, self.line, self.message = str(file), line, message
        super().__init__(str(self))

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


def normalise(text: str) -> str:
    """Collapse runs of white space and hard line breaks (arXiv metadata has both)."""
    return _WS.sub(" ", text).strip()


def paper_id(title: str, abstract: str) -> str:
    """Stable content hash of the normalised title and abstract: the same paper always gets the same id."""
    key = normalise(title).casefold() + "\n" + normalise(abstract).casefold()
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def make_paper(title: str, abstract: str, **meta) -> Paper:
    title, abstract = normalise(title), normalise(abstract)
    return Paper(id=paper_id(title, abstract), title=title, abstract=abstract, **meta)


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


def _decode_lines(path: Path, data: bytes, problems: list[SourceError]) -> list[tuple[int, str | None]]:
    """Lines with their numbers; a line that is not UTF-8, or too long to be a record, is reported and None."""
    out: list[tuple[int, str | None]] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if len(raw) > _MAX_LINE:
            size = f"{len(raw) / 1e6:.1f} MB"
            problems.append(SourceError(path, f"line is {size}, over the 1 MB limit for one record; skipped", number))
            out.append((number, None))
            continue
        try:
            out.append((number, raw.decode("utf-8").rstrip("\r")))
        except UnicodeDecodeError as exc:
            problems.append(SourceError(path, f"not UTF-8 text (byte {exc.start + 1} of the line); skipped", number))
            out.append((number, None))
    return out


def detect_format(path: Path, head: str) -> Format:
    """Guess the format from the file's first characters (and its suffix for CSV)."""
    first = head.lstrip("\ufeff \t\r\n")
    if first.startswith("{"):
        line = first.split("\n", 1)[0]
        try:
            keys = set(json.loads(line))
        except ValueError:
            keys = set()
        return "arxiv" if {"update_date", "categories"} & keys and "id" in keys else "jsonl"
    header = first.split("\n", 1)[0].lower()
    if path.suffix.lower() in (".csv", ".tsv") or ("title" in header and "abstract" in header and "," in header):
        return "csv"
    return "daily"


def read_file(path: Path, fmt: Format = "auto") -> ReadResult:
    """Read one file. Problems (bad lines, bad encoding, empty file) are returned, never raised."""
    result = ReadResult()
    try:
        data = path.read_bytes()
    except OSError as exc:
        result.problems.append(SourceError(path, f"cannot read: {exc.strerror or exc}"))
        return result
    if not data.strip():
        result.problems.append(SourceError(path, "empty file; nothing to ingest"))
        return result
    if b"\x00" in data[:8192]:
        result.problems.append(SourceError(path, "binary file (not text); skipped"))
        return result
    lines = _decode_lines(path, data, result.problems)
    if fmt == "auto":
        head = "\n".join(text for _, text in lines[:5] if text is not None)
        fmt = detect_format(path, head)
    reader = {"daily": _read_daily, "jsonl": _read_jsonl, "arxiv": _read_jsonl, "csv": _read_csv}[fmt]
    for item in reader(path, lines):
        if isinstance(item, SourceError):
            result.problems.append(item)
        else:
            result.papers.append(item)
    if not result.papers and not result.problems:
        result.problems.append(SourceError(path, f"no papers found (read as {fmt})"))
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


# --- Daily Papers page dump -------------------------------------------------------------------------------


def _is_meta(text: str) -> bool:
    return text == "·" or text.startswith("•") or bool(_DAILY_DATE.match(text))


def _read_daily(path: Path, lines: list[tuple[int, str | None]]) -> Iterator[Paper | SourceError]:
    rows = [(n, t.strip() if t is not None else None) for n, t in lines if t is None or t.strip()]
    i = 0
    while (
        i < len(rows) and rows[i][1] is not None and (rows[i][1] in _DAILY_BOILERPLATE or _DAILY_DATE.match(rows[i][1]))
    ):
        i += 1  # page header: boilerplate and the page's date
    while i < len(rows):
        number, title = rows[i]
        if title is None:  # undecodable line, already reported
            i += 1
            continue
        if len(title) > _MAX_TITLE or _is_meta(title):
            what = "an abstract with no title" if len(title) > _MAX_TITLE else f"'{title[:40]}'"
            yield SourceError(path, f"expected a paper title, found {what}; skipped", number)
            i += 1
            continue
        if i + 1 >= len(rows) or rows[i + 1][1] is None or _is_meta(rows[i + 1][1]):
            yield SourceError(path, f"title '{title[:60]}' has no abstract; skipped", number)
            i += 1
            while i < len(rows) and rows[i][1] is not None and _is_meta(rows[i][1]):
                i += 1
            continue
        abstract = rows[i + 1][1]
        nxt = rows[i + 2][1] if i + 2 < len(rows) else None
        if len(abstract) < 200 and nxt is not None and len(nxt) > _MAX_TITLE:
            # the "abstract" is the next paper's title: this title lost its abstract
            yield SourceError(path, f"title '{title[:60]}' has no abstract; skipped", number)
            i += 1
            continue
        i += 2
        meta = {"source": path.name}
        # optional byline ("• 5 authors" or an organisation), then "·", then a date line with upvotes
        if i + 1 < len(rows) and rows[i + 1][1] == "·" and rows[i][1] is not None and len(rows[i][1]) < 100:
            meta["authors"] = rows[i][1].lstrip("• ").strip()
            i += 1
        if i < len(rows) and rows[i][1] == "·":
            i += 1
            if i < len(rows) and rows[i][1] is not None and (m := _DAILY_DATE.match(rows[i][1])):
                meta["date"] = f"{m['month']} {m['day']}" + (f", {m['year']}" if m["year"] else "")
                meta["date_iso"] = parse_date(meta["date"]) if m["year"] else ""
                if m["up"]:
                    meta["upvotes"] = int(m["up"])
                i += 1
        yield make_paper(title, abstract, **meta)


# --- JSONL and arXiv metadata -----------------------------------------------------------------------------


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return normalise(str(value))


def _record_to_paper(path: Path, record: dict, number: int) -> Paper | SourceError:
    lower = {str(k).lower(): v for k, v in record.items()}
    title, abstract = _text(lower.get("title")), _text(lower.get("abstract") or lower.get("summary"))
    if not title or not abstract:
        missing = " and ".join(k for k, v in (("title", title), ("abstract", abstract)) if not v)
        return SourceError(path, f"record has no {missing}; skipped", number)
    source_id = _text(lower.get("id") or lower.get("arxiv_id") or lower.get("paper_id"))
    url = _text(lower.get("url"))
    if not url and re.match(r"^\d{4}\.\d{4,5}(v\d+)?$|^[a-z\-]+(\.[A-Z]{2})?/\d{7}$", source_id):
        url = f"https://arxiv.org/abs/{source_id}"
    date = _text(lower.get("date") or lower.get("published") or lower.get("update_date"))
    upvotes = lower.get("upvotes")
    return make_paper(
        title,
        abstract,
        authors=_text(lower.get("authors")),
        date=date,
        date_iso=parse_date(date) if date else "",
        upvotes=int(upvotes) if isinstance(upvotes, int | float) and not isinstance(upvotes, bool) else None,
        url=url,
        categories=_text(lower.get("categories")),
        source=path.name,
        source_id=source_id,
    )


def _read_jsonl(path: Path, lines: list[tuple[int, str | None]]) -> Iterator[Paper | SourceError]:
    for number, text in lines:
        if text is None or not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError as exc:
            yield SourceError(path, f"not valid JSON ({exc.msg} at column {exc.colno}); skipped", number)
            continue
        if not isinstance(record, dict):
            yield SourceError(path, "expected a JSON object per line; skipped", number)
            continue
        yield _record_to_paper(path, record, number)


# --- CSV --------------------------------------------------------------------------------------------------


def _read_csv(path: Path, lines: list[tuple[int, str | None]]) -> Iterator[Paper | SourceError]:
    text = "\n".join(t if t is not None else "" for _, t in lines).lstrip("\ufeff")
    dialect: type[csv.Dialect] | csv.Dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    csv.field_size_limit(1 << 30)
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    missing = [c for c in ("title", "abstract") if c not in columns and not (c == "abstract" and "summary" in columns)]
    if missing:
        yield SourceError(path, f"CSV has no '{missing[0]}' column (columns found: {', '.join(columns) or 'none'})", 1)
        return
    bad_lines = {n for n, t in lines if t is None}
    try:
        for row in reader:
            number = reader.line_num
            if number in bad_lines:
                continue
            extra = row.pop(None, None)  # type: ignore[call-overload]
            if extra:
                yield SourceError(path, f"row has {len(extra)} more fields than the header; skipped", number)
                continue
            yield _record_to_paper(path, {k.strip(): v for k, v in row.items() if k}, number)
    except csv.Error as exc:
        yield SourceError(path, f"malformed CSV ({exc}); rest of file skipped", reader.line_num)

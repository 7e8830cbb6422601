"""Parsing every input format, and the problems a user gets told about."""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.config import bundled_corpus_files
from assistant.ingest import DatedDuplicate, IngestReport, iter_papers
from assistant.sources import (
    Paper,
    SourceError,
    detect_format,
    iter_input_files,
    iter_records,
    paper_id,
    parse_date,
    read_file,
)

DAILY = """new

Get trending papers in your email inbox!

Subscribe

byAK and the research community

Nov 20

First Paper: A Study of Things

This is the abstract of the first paper. It is long enough to be an abstract and talks about things in detail.

  • 3 authors
·
Dec 28, 2023 7

Second Paper Without Byline

The second abstract explains another idea at length so that the parser sees a proper abstract line here.

Third Paper From An Org

Third abstract, with enough words to be an abstract of a paper about organisations and their models.

inclusionAI inclusionAI
·
Sep 3 2
"""


def test_daily_dump_keeps_titles_abstracts_and_metadata(tmp_path):
    path = tmp_path / "dump.txt"
    path.write_text(DAILY, encoding="utf-8")
    result = read_file(path)
    assert result.problems == []
    assert [p.title for p in result.papers] == [
        "First Paper: A Study of Things",
        "Second Paper Without Byline",
        "Third Paper From An Org",
    ]
    first, second, third = result.papers
    assert first.authors == "3 authors" and first.date_iso == "2023-12-28" and first.upvotes == 7
    assert second.date == "" and second.upvotes is None
    assert third.authors == "inclusionAI inclusionAI" and third.date == "Sep 3" and third.upvotes == 2
    assert third.date_iso == ""  # no year given


def test_bundled_corpus_has_385_entries_and_369_distinct_papers():
    report = IngestReport()
    items = list(iter_papers(bundled_corpus_files(), "auto", report))
    papers = [p for p in items if isinstance(p, Paper)]
    assert (report.entries, len(papers), report.duplicates, report.problems) == (385, 369, 16, [])
    assert all(len(p.abstract) > 200 and len(p.title) < 300 for p in papers)
    # 8 papers of daily-papers-a.txt (no dates) are dated on daily-papers-b.txt: those copies give the date
    dated = [d.paper for d in items if isinstance(d, DatedDuplicate)]
    assert len(dated) == 8 and all(p.source == "daily-papers-b.txt" and p.date_iso for p in dated)


def test_daily_title_without_abstract_is_reported_with_its_line(tmp_path):
    long_abstract = "An abstract sentence that goes on. " * 20
    path = tmp_path / "dump.txt"
    path.write_text(f"Lonely Title\n\nGood Title\n\n{long_abstract}\n", encoding="utf-8")
    result = read_file(path, "daily")
    assert [p.title for p in result.papers] == ["Good Title"]
    assert len(result.problems) == 1
    assert result.problems[0].line == 1 and "Lonely Title" in result.problems[0].message
    assert str(result.problems[0]).startswith(f"{path}:1:")


def test_jsonl_broken_line_is_reported_and_good_lines_kept(tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text(
        json.dumps({"title": "A", "abstract": "Alpha abstract."})
        + "\n{not json\n"
        + json.dumps({"title": "No abstract"})
        + "\n"
        + json.dumps({"title": "B", "abstract": "Beta abstract.", "authors": ["X", "Y"], "date": "2024-01-02"})
        + "\n",
        encoding="utf-8",
    )
    result = read_file(path)
    assert [p.title for p in result.papers] == ["A", "B"]
    assert result.papers[1].authors == "X, Y" and result.papers[1].date_iso == "2024-01-02"
    assert [(p.line, "JSON" in p.message or "abstract" in p.message) for p in result.problems] == [
        (2, True),
        (3, True),
    ]


def test_arxiv_metadata_line_breaks_and_spaces_are_normalised(tmp_path):
    record = {
        "id": "2301.00001",
        "title": "Deep\n  Learning   for\n Cats",
        "abstract": "  We study\ncats.\n  Cats are   great.\n",
        "authors": "A. Author, B. Author",
        "categories": "cs.LG cs.CV",
        "update_date": "2023-01-05",
    }
    path = tmp_path / "arxiv.json"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    assert detect_format(path, path.read_text()) == "arxiv"
    (paper,) = read_file(path).papers
    assert paper.title == "Deep Learning for Cats" and paper.abstract == "We study cats. Cats are great."
    assert paper.url == "https://arxiv.org/abs/2301.00001" and paper.date_iso == "2023-01-05"
    assert paper.categories == "cs.LG cs.CV"


def test_csv_with_and_without_abstract_column(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text('title,abstract,url\n"T1","Abstract one, with a comma.",http://x\nT2,Abstract two.,\n')
    result = read_file(good)
    assert [(p.title, p.abstract) for p in result.papers] == [
        ("T1", "Abstract one, with a comma."),
        ("T2", "Abstract two."),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("title,summary_text\nT1,hello\n")
    result = read_file(bad)
    assert result.papers == []
    assert "no 'abstract' column" in result.problems[0].message and result.problems[0].line == 1


def test_empty_binary_and_non_utf8_files(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert "empty file" in read_file(empty).problems[0].message
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x00\x01\x02PNG\x00" * 10)
    assert "binary" in read_file(binary).problems[0].message
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(
        json.dumps({"title": "Good", "abstract": "Fine text."}).encode()
        + b"\n"
        + '{"title": "Caf\xe9", "abstract": "Bad bytes."}'.encode("latin-1")
        + b"\n"
    )
    result = read_file(latin)
    assert [p.title for p in result.papers] == ["Good", "Café"]  # not UTF-8: read as Windows-1252, and noted
    assert result.problems == [] and [n.line for n in result.notes] == [2]
    assert "Windows-1252" in result.notes[0].message
    neither = tmp_path / "neither.jsonl"  # 0x81 is undefined in Windows-1252 too
    neither.write_bytes(json.dumps({"title": "Good", "abstract": "Fine text."}).encode() + b"\n\x81\x8d\n")
    result = read_file(neither)
    assert [p.title for p in result.papers] == ["Good"]
    assert result.problems[0].line == 2 and "neither UTF-8 nor Windows-1252" in result.problems[0].message


def test_bad_file_does_not_stop_the_others(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps({"title": "A", "abstract": "Alpha."}) + "\n")
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\x00\x00garbage")
    report = IngestReport()
    papers = list(iter_papers(list(iter_input_files([tmp_path, tmp_path / "missing.jsonl"])), "auto", report))
    assert [p.title for p in papers] == ["A"]
    assert {Path(p.file).name for p in report.problems} == {"b.txt", "missing.jsonl"}


def test_ids_are_stable_content_hashes():
    assert paper_id("A  Title", "Some\nabstract") == paper_id("a title", "some abstract")
    assert paper_id("A title", "abstract one") != paper_id("A title", "abstract two")


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=400),
    fmt=st.sampled_from(["auto", "daily", "jsonl", "csv", "arxiv"]),
    compress=st.sampled_from([None, gzip.compress, bz2.compress]),
)
def test_no_input_crashes_the_readers(tmp_path_factory, data, fmt, compress):
    path = tmp_path_factory.mktemp("fuzz") / "input.txt"
    path.write_bytes(compress(data) if compress else data)
    result = read_file(path, fmt)
    assert all(isinstance(p, SourceError) for p in result.problems)
    assert result.papers or result.problems  # an input without papers always says why


def test_a_50_mb_line_is_reported_and_the_other_records_kept(tmp_path):
    path = tmp_path / "huge.jsonl"
    with path.open("w") as f:
        f.write(json.dumps({"title": "Before", "abstract": "Fine."}) + "\n")
        f.write(json.dumps({"title": "Huge", "abstract": "x" * 50_000_000}) + "\n")
        f.write(json.dumps({"title": "After", "abstract": "Also fine."}) + "\n")
    result = read_file(path)
    assert [p.title for p in result.papers] == ["Before", "After"]
    assert result.problems[0].line == 2 and "50.0 MB, over the 1 MB limit" in result.problems[0].message


def test_a_folder_of_thousands_of_files_is_read_with_every_problem_named(tmp_path):
    for i in range(3000):
        folder = tmp_path / f"part{i % 7}"
        folder.mkdir(exist_ok=True)
        if i % 500 == 0:
            (folder / f"p{i}.jsonl").write_text('{"title": "broken\n')
        else:
            (folder / f"p{i}.jsonl").write_text(
                json.dumps({"title": f"Paper {i}", "abstract": f"Abstract {i}."}) + "\n"
            )
    report = IngestReport()
    papers = list(iter_papers(list(iter_input_files([tmp_path])), "auto", report))
    assert len(papers) == 2994 and report.files == 3000
    assert sorted(Path(p.file).name for p in report.problems) == sorted(f"p{i}.jsonl" for i in range(0, 3000, 500))
    assert all(p.line == 1 for p in report.problems)


RECORDS = [
    {"title": "Alpha: A Study of Things", "abstract": "Alpha abstract, long enough to be one.", "date": "2024-01-02"},
    {"title": "Beta Paper", "abstract": "Beta abstract about other things."},
]
TITLES = ["Alpha: A Study of Things", "Beta Paper"]
JSONL = "".join(json.dumps(r) + "\n" for r in RECORDS)


def _titles(result) -> list[str]:
    return [p.title for p in result.papers]


def test_json_arrays_and_api_responses_are_read_as_records(tmp_path):
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(RECORDS, indent=2))
    one_line = tmp_path / "one-line.json"
    one_line.write_text(json.dumps(RECORDS))
    wrapped = tmp_path / "wrapped.json"  # one object holding the list of records
    wrapped.write_text(json.dumps({"count": 2, "papers": RECORDS}, indent=2))
    for path in (pretty, one_line, wrapped):
        result = read_file(path)
        assert (_titles(result), result.problems) == (TITLES, [])
        assert result.papers[0].date_iso == "2024-01-02"
    api = tmp_path / "daily_papers.json"  # https://huggingface.co/api/daily_papers: each paper under "paper"
    api.write_text(
        json.dumps(
            [
                {
                    "paper": {
                        "id": "2502.12345",
                        "title": "Gamma",
                        "summary": "Gamma summary.",
                        "upvotes": 7,
                        "publishedAt": "2025-02-17T10:00:00.000Z",
                    },
                    "title": "Gamma",
                    "publishedAt": "2025-02-18T09:00:00.000Z",
                }
            ],
            indent=2,
        )
    )
    (gamma,) = read_file(api).papers
    assert (gamma.title, gamma.abstract, gamma.upvotes, gamma.date_iso, gamma.url) == (
        "Gamma",
        "Gamma summary.",
        7,
        "2025-02-17",
        "https://arxiv.org/abs/2502.12345",
    )


def test_a_broken_json_array_is_reported_at_its_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"title": "Kept", "abstract": "Read before the break."},\n  {"title": "Broken" "x": 1}\n]\n')
    result = read_file(path)
    assert _titles(result) == ["Kept"]
    assert [(p.line, "not valid JSON" in p.message) for p in result.problems] == [(3, True)]


def test_markup_and_punctuation_are_never_titles(tmp_path):
    abstract = "An abstract sentence that goes on for a while and then some more. " * 8
    junk = ["[", "},", '"date": "Mar 11",', '<h3 class="title"><a href="/papers/2502.1">Hidden</a></h3>']
    lines = ["Real Title", abstract]
    for line in junk:
        lines += [line, abstract]
    lines += ["Last Title", abstract]
    path = tmp_path / "dump.txt"
    path.write_text("\n\n".join(lines) + "\n")
    result = read_file(path, "daily")
    assert _titles(result) == ["Real Title", "Last Title"]
    problems = {p.line: p.message for p in result.problems}
    for number, (line, reason) in enumerate(
        zip(junk, ["no letters", "no letters", "a piece of JSON", "HTML markup"], strict=True), start=1
    ):
        message = problems[4 * number + 1]  # every line is followed by a blank one
        assert message.startswith("expected a paper title, found") and reason in message, (line, message)
    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text(json.dumps({"title": "*** 2024 ***", "abstract": "Fine."}) + "\n")
    assert [str(p) for p in read_file(jsonl).problems] == [
        f"{jsonl}:1: record: '*** 2024 ***' is not a paper title (it has no letters); skipped"
    ]


def test_a_saved_html_page_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "Daily Papers - Hugging Face.html"
    path.write_text(
        '<!DOCTYPE html>\n<html class="">\n<head><meta charset="utf-8"><title>Daily Papers</title></head>\n'
        '<body><article><h3><a href="/papers/2502.1">A Paper</a></h3>\n<p>Its abstract, long enough.</p>\n'
        "</article></body></html>\n"
    )
    for fmt in ("auto", "daily"):
        result = read_file(path, fmt)
        assert result.papers == [] and len(result.problems) == 1
        message = str(result.problems[0])
        assert message.startswith(f"{path}: a web page saved as HTML, not a list of papers; nothing read. Fix:")
        assert "save the page as text" in message and "https://huggingface.co/api/daily_papers" in message


def _write_csv(rows: list[list[str]]) -> str:
    out: list[str] = []
    writer = csv.writer(type("Sink", (), {"write": lambda self, s: out.append(s)})())
    writer.writerows(rows)
    return "".join(out)


CONTENT = {
    "jsonl": JSONL,
    "json": json.dumps(RECORDS, indent=2),
    "csv": _write_csv(
        [["title", "abstract", "date"]] + [[r["title"], r["abstract"], r.get("date", "")] for r in RECORDS]
    ),
    "txt": "".join(f"{r['title']}\n\n{r['abstract']}\n\n" for r in RECORDS),
}


@pytest.mark.parametrize(
    "name, compress",
    [
        ("papers.jsonl.gz", gzip.compress),
        ("papers.json.gz", gzip.compress),
        ("papers.csv.gz", gzip.compress),
        ("papers.txt.gz", gzip.compress),
        ("papers.jsonl.bz2", bz2.compress),
        ("papers.csv.xz", lzma.compress),
        ("download-jsonl", gzip.compress),  # no suffix at all: the first bytes say gzip
    ],
)
def test_compressed_files_are_read_by_their_first_bytes(tmp_path, name, compress):
    kind = name.split(".")[1] if "." in name else name.split("-")[1]
    path = tmp_path / name
    path.write_bytes(compress(CONTENT[kind].encode()))
    result = read_file(path)
    assert (_titles(result), result.problems) == (TITLES, [])


def test_a_cut_off_gzip_file_keeps_the_records_before_the_cut(tmp_path):
    lines = [
        json.dumps({"title": f"Paper {i}", "abstract": f"Abstract {i}: " + "words " * (i % 50)}) for i in range(20000)
    ]
    data = gzip.compress("\n".join(lines).encode())
    path = tmp_path / "arxiv.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    result = read_file(path)
    assert 0 < len(result.papers) < 20000 and _titles(result) == [f"Paper {i}" for i in range(len(result.papers))]
    assert [str(p) for p in result.problems] == [
        f"{path}: the gzip data ends early (an interrupted download?); the rest of the file is skipped"
    ]


def test_excel_exports_windows_1252_semicolons_tabs_and_utf16(tmp_path):
    row = ["Études sur l’IA", "Résumé – “quoted”, with a comma", "José Núñez"]
    header = ["title", "abstract", "authors"]
    semicolons = tmp_path / "excel.csv"  # Excel in a comma-decimal locale
    semicolons.write_bytes((";".join(header) + "\r\n" + ";".join(row) + "\r\n").encode("cp1252"))
    tabs = tmp_path / "excel.txt"  # Excel's "Text (Tab delimited)"
    tabs.write_bytes(("\t".join(header) + "\r\n" + "\t".join(row) + "\r\n").encode("cp1252"))
    utf16 = tmp_path / "unicode.txt"  # Excel's "Unicode Text": UTF-16 with a BOM
    utf16.write_bytes(("\t".join(header) + "\r\n" + "\t".join(row) + "\r\n").encode("utf-16"))
    for path in (semicolons, tabs, utf16):
        result = read_file(path)
        assert result.problems == [] and [(p.title, p.abstract, p.authors) for p in result.papers] == [tuple(row)]
    notes = read_file(semicolons).notes
    assert [n.line for n in notes] == [2] and "read as Windows-1252" in notes[0].message
    assert read_file(utf16).notes == []
    array = tmp_path / "export.json"  # a JSON document in Windows-1252 too
    array.write_bytes(json.dumps([dict(zip(header, row, strict=True))], ensure_ascii=False, indent=2).encode("cp1252"))
    result = read_file(array)
    assert [(p.title, p.abstract, p.authors) for p in result.papers] == [tuple(row)] and result.problems == []
    assert [n.line for n in result.notes] == [3]


def test_author_objects_and_upvotes_written_as_text(tmp_path):
    path = tmp_path / "api.jsonl"
    records = [
        {
            "title": "A",
            "abstract": "Alpha.",
            "authors": [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}],
            "upvotes": "12",
        },
        {
            "title": "B",
            "abstract": "Beta.",
            "authors": [{"_id": "x1", "user": {"fullname": "Grace Hopper", "user": "gh"}}],
        },
        {"title": "C", "abstract": "Gamma.", "authors": {"name": "Solo Author"}, "upvotes": "1,204"},
        {"title": "D", "abstract": "Delta.", "authors": ["Plain Name"], "upvotes": "many"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = read_file(path)
    assert [(p.authors, p.upvotes) for p in result.papers] == [
        ("Ada Lovelace, Alan Turing", 12),
        ("Grace Hopper", None),
        ("Solo Author", 1204),
        ("Plain Name", None),
    ]
    table = tmp_path / "papers.csv"  # every CSV value is text
    table.write_text("title,abstract,upvotes\nT,Some abstract.,7\n")
    assert [p.upvotes for p in read_file(table).papers] == [7]


@pytest.mark.parametrize("layout", ["jsonl", "one-line JSON array", "jsonl.gz"])
def test_reading_streams_in_bounded_memory(tmp_path, layout):
    abstract = "We measure a thing at length, with figures such as 1, 2 and 3, and discuss them. " * 50
    records = (json.dumps({"id": f"2401.{i:05d}", "title": f"Paper {i}", "abstract": abstract}) for i in range(5000))
    path = tmp_path / ("papers.jsonl.gz" if layout == "jsonl.gz" else "papers.json")
    with gzip.open(path, "wt") if layout == "jsonl.gz" else path.open("w") as out:
        if layout == "one-line JSON array":
            out.write("[" + ", ".join(records) + "]")
        else:
            out.writelines(r + "\n" for r in records)
    size = 5000 * len(abstract)  # about 20 MB of text
    tracemalloc.start()
    try:
        papers = sum(isinstance(item, Paper) for item in iter_records(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert papers == 5000
    assert peak < size / 5, f"peak {peak / 1e6:.1f} MB while reading {size / 1e6:.0f} MB"


DATED = """Daily Papers

{header}

Paper One

{abstract}

  • 2 authors
·
Mar 10 4

Paper Two

{abstract}

  • 3 authors
·
Dec 28

Paper Three

{abstract}

·
Jun 5, 2023
"""


def test_yearless_daily_dates_take_the_year_of_the_page(tmp_path):
    abstract = "An abstract sentence that goes on for a while and then some more. " * 4
    header = tmp_path / "dump.txt"  # the page header carries the year
    header.write_text(DATED.format(header="Mar 11, 2025", abstract=abstract))
    named = tmp_path / "daily-papers-2025-03-11.txt"  # the file name carries the day the page was saved
    named.write_text(DATED.format(header="Mar 11", abstract=abstract))
    for path in (header, named):
        result = read_file(path)
        assert [(p.date, p.date_iso) for p in result.papers] == [
            ("Mar 10", "2025-03-10"),
            ("Dec 28", "2024-12-28"),  # after the page's day: the year before
            ("Jun 5, 2023", "2023-06-05"),
        ]
        assert result.notes == []
    undated = tmp_path / "dump-undated.txt"  # nothing says the year: none is invented
    undated.write_text(DATED.format(header="Mar 11", abstract=abstract))
    result = read_file(undated)
    assert [p.date_iso for p in result.papers] == ["", "", "2023-06-05"] and result.problems == []
    (note,) = result.notes
    assert note.line == 11 and note.message.startswith("2 papers have a date without a year (the first: 'Mar 10')")
    assert "daily-papers-2025-11-20.txt" in note.message


def test_impossible_dates_are_no_dates(tmp_path):
    assert [parse_date(d) for d in ("2024-13-45", "2023-02-29", "2024-02-29", "2025-02-17T10:00:00.000Z")] == [
        "",
        "",
        "2024-02-29",
        "2025-02-17",
    ]
    assert [parse_date(d) for d in ("11 March 2024", "Mar 11 2024", "Mon, 2 Apr 2007 19:18:42 GMT", "Mar 11")] == [
        "2024-03-11",
        "2024-03-11",
        "2007-04-02",
        "",
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text(json.dumps({"title": "T", "abstract": "A.", "date": "2024-13-45"}) + "\n")
    (paper,) = read_file(path).papers
    assert (paper.date, paper.date_iso) == ("2024-13-45", "")


def test_terminal_control_sequences_never_reach_the_store(tmp_path):
    path = tmp_path / "hostile.jsonl"
    record = {
        "title": "Clean\x1b[2J\x1b[H Title\x1b]0;owned\x07",
        "abstract": "Line one\x1b[31m red\x1b[0m,\ttabbed\nnext line\x9b2J\x07\x00 end.",
        "authors": "Eve\x1b[5m Blink\x1bP1$r\x1b\\",
    }
    junk = {"title": "\x1b]8;;http://x\x07***\x1b]8;;\x07", "abstract": "A."}
    path.write_text(json.dumps(record) + "\n" + json.dumps(junk) + "\n")
    result = read_file(path)
    (paper,) = result.papers
    assert (paper.title, paper.abstract, paper.authors) == (
        "Clean Title",
        "Line one red, tabbed next line end.",
        "Eve Blink",
    )
    assert [str(p) for p in result.problems] == [
        f"{path}:2: record: '***' is not a paper title (it has no letters); skipped"
    ]


NO_PAPERS = [
    ("empty.json.gz", gzip.compress(b"", mtime=0), "auto", "empty file inside the gzip file; nothing to ingest"),
    ("none.json", b"[]", "auto", "no papers found (read as jsonl: JSON records with 'title' and 'abstract')"),
    ("header.csv", b"title,abstract\n", "auto", "no papers found (read as csv: a header with 'title' and"),
    ("dump.txt", DAILY.encode(), "jsonl", "not JSON (it starts with 'new"),
    ("papers.json", json.dumps(RECORDS).encode(), "daily", "this looks like JSON, not daily; nothing read"),
    ("papers.jsonl", JSONL.encode(), "csv", "this looks like JSON, not csv; nothing read"),
    ("papers.xlsx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(40), "auto", "a spreadsheet, not CSV; nothing read. Fix"),
    ("papers.zip", b"PK\x03\x04\x14\x00\x06\x00" + bytes(40), "auto", "a zip archive; unzip it"),
]


@pytest.mark.parametrize("name, content, fmt, expected", NO_PAPERS, ids=[case[0] for case in NO_PAPERS])
def test_an_input_without_papers_is_one_problem_naming_the_file(tmp_path, name, content, fmt, expected):
    path = tmp_path / name
    path.write_bytes(content)
    result = read_file(path, fmt)
    assert result.papers == [] and len(result.problems) == 1
    assert str(result.problems[0]).startswith(f"{path}: {expected}")

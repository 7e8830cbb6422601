"""Per-sentence support check: is each cited sentence of an answer backed by the abstract(s) it cites?

Offline, with the local embedding model (all-MiniLM-L6-v2 on ONNX Runtime). Four signals, each explainable:

- similarity: the best cosine of the sentence to one sentence of the cited text, or to two consecutive ones;
- unmatched: BERTScore-style recall as in retrieve.unmatched(): each content word of the sentence is matched
  to its most similar contextual token of the cited text, and the IDF-weighted shortfall below cosine 0.6 is
  summed over the total IDF: a claim about something the abstract never mentions leaves words unmatched;
- numbers: every figure of the sentence ("86.81%", "7 billion", "13B", "2x", "four") must occur in the cited
  text, in any of the usual spellings;
- negation: a rare word negated on one side ("requires no additional training") and stated positively on the
  other ("needs additional training"), sentence against its best-matching passage, reverses the claim.

A sentence is flagged when any signal fails; the thresholds are calibrated in evals/support_calibrate.py
on evals/support-labelled.jsonl (figures in evals/README.md, "Support check").

    results = check_answer("GLM-130B has 130 billion parameters [1].", ["GLM-130B ... abstract"], settings)
    [r.result.supported for r in results if r.result]
"""

from __future__ import annotations

import functools
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from assistant.config import Settings

if TYPE_CHECKING:
    import numpy as np

    from assistant.embeddings import LocalEncoder

# --- thresholds (chosen on the dev split of evals/support-labelled.jsonl; evals/README.md "Support check") -----

# Below this best cosine (the sentence against one cited sentence or two consecutive ones) it is flagged. The
# lowest supported dev pair scores 0.554 and a pair's score moves by up to 0.048 between the fp32 and int8
# models, so 0.50 keeps that margin; 0.55 flagged 3 more dev pairs but sits 0.004 from a supported one.
# Nearly everything it flags the unmatched share flags too; it stays for texts with no content words to match.
MIN_SIMILARITY = 0.50
# Above this IDF-weighted share of the sentence's content words without a token match >= MATCH_FLOOR in the
# cited text, it is flagged: it names what the abstract does not. Supported dev pairs reach 0.104 and a
# pair's share moves by up to 0.015 between runtimes; 0.12 and 0.13 give the same dev figures (precision
# 0.918, recall 0.824 with the other signals), and 0.13 is further from the wrong-source pairs at 0.116-0.121.
MAX_UNMATCHED = 0.13
MATCH_FLOOR = 0.6  # as retrieve.MATCH_FLOOR: a word whose best token match is below this cosine counts as missing

# --- sentences and markers ------------------------------------------------------------------------------

_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# a marker written after the full stop ("... cost. [2] Next ...") belongs to the sentence before it
_MARKER_AFTER_END = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")
# the same rule as answer.split_sentences (a full stop, space, then a capital, digit, bracket or quote), kept
# here because that function drops pieces of 20 characters or less, and a short answer sentence is a claim too
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
_ABBREVIATION = re.compile(r"\b(e\.g|i\.e|et al|vs|cf|Fig|Eq|approx|resp)\.$", re.IGNORECASE)


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer or abstract, markers kept with the sentence they follow."""
    text = _MARKER_AFTER_END.sub(lambda m: f"{m.group(2)}{m.group(1)}", text.strip())
    parts: list[str] = []
    current = ""
    for piece in _SENTENCE_END.split(text):
        current = f"{current} {piece}".strip() if current else piece.strip()
        if not _ABBREVIATION.search(current):
            parts.append(current)
            current = ""
    if current:
        parts.append(current)
    return [p for p in parts if p]


def parse_markers(sentence: str) -> list[int]:
    """Source numbers cited in a sentence, in order of first appearance: "A [1] and B [2, 1]." -> [1, 2]."""
    found = (int(n) for m in _MARKER.finditer(sentence) for n in re.findall(r"\d+", m.group(1)))
    return list(dict.fromkeys(found))


def strip_markers(sentence: str) -> str:
    """The sentence without its markers (and the space before each), as it is scored."""
    return re.sub(r"\s*" + _MARKER.pattern, "", sentence).strip()


# --- numbers --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    text: str  # as written: "7 billion", "86.81%"
    value: float  # the number itself: 7, 86.81
    scale: float = 1.0  # 1e9 for "billion" / "B"

    @property
    def scaled(self) -> float:
        return self.value * self.scale


_SCALES = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9, "t": 1e12, "trillion": 1e12}
_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "twice": 2,
    "twofold": 2,
    "threefold": 3,
    "tenfold": 10,
}
_NUMERAL = re.compile(
    r"(?<![\w.])(?P<num>\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?)"
    r"(?:(?:\s*-?\s*)(?P<word>thousand|million|billion|trillion)\b|(?P<suffix>[kKMBT])(?![A-Za-z0-9]))?"
    # "times" glued to the next word is how the corpus renders "4×RTX 3090" ("4timesRTX")
    r"(?:\s*(?:%|percent\b|per cent\b|[xX](?![A-Za-z0-9])|×|-?fold\b|times)"
    r"|\s*(?:GB|MB|TB|ms)\b)?"
)
_NUMBER_WORD = re.compile(
    r"\b(?P<word>one|" + "|".join(_WORDS) + r")\b(?:[\s-]+(?P<scale>thousand|million|billion|trillion)\b)?",
    re.IGNORECASE,
)


def extract_numbers(text: str, *, source: bool = False) -> list[Number]:
    """The figures of a text, markers excluded.

    "7B", "7 billion" and "7-billion" are the same number; "86.81%" and "86.81 percent" too; "1,281,040" has
    its commas dropped; "2x", "2×" and "2 times" are 2. Digits inside names are not figures: "GPT-4", "T5",
    "A100", "3D", "Llama-2" (a letter, or a letter and a hyphen, before them; a digit or letter right after),
    except a size after a hyphen ("Mistral-7B", "TAID-LLM-1.5B").

    source=True reads a cited text, which only has to hold figures, so it is lenient: a number glued to a unit
    counts ("30TF", "24G"), and so does the word "one" (an answer's "1 epoch" is the abstract's "one epoch");
    in an answer "one" is too often a pronoun ("the one that ...") to be a figure.
    """
    text = _MARKER.sub(" ", text)
    out: list[Number] = []
    for m in _NUMERAL.finditer(text):
        start, end = m.start(), m.end()
        scale_word = m.group("word") or m.group("suffix")
        before = text[max(0, start - 2) : start]
        if re.fullmatch(r"[A-Za-z]-", before) and not scale_word:
            continue  # "GPT-4", "Llama-2": a name
        if end < len(text) and text[end].isalnum() and not m.group(0).endswith("times") and not source:
            continue  # "3D", "1st", "8x7B", "24G"
        scale = _SCALES[scale_word.lower()] if scale_word else 1.0
        out.append(Number(m.group(0).strip(), float(m.group("num").replace(",", "")), scale))
    for m in _NUMBER_WORD.finditer(text):
        word = m.group("word").lower()
        if word == "one" and not source:
            continue
        value = 1 if word == "one" else _WORDS[word]
        scale = _SCALES[m.group("scale").lower()] if m.group("scale") else 1.0
        out.append(Number(m.group(0), float(value), scale))
    return out


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def missing_numbers(sentence: str, source: str) -> list[str]:
    """The figures of the sentence that the source does not hold, as written in the sentence.

    A figure is held when the source has the same scaled value ("7 billion" for "7B"), or, for a figure
    written without a scale, the same number with any scale ("7" for "7B and 13B").
    """
    held = extract_numbers(source, source=True)
    missing = []
    for number in extract_numbers(sentence):
        if any(_close(number.scaled, h.scaled) for h in held):
            continue
        if number.scale == 1.0 and any(_close(number.value, h.value) for h in held):
            continue
        missing.append(number.text)
    return list(dict.fromkeys(missing))


# --- negation -------------------------------------------------------------------------------------------

_NEGATION = re.compile(
    r"\b(?:not(?!\s+only\b)|no(?!\s+matter\b)|never|none|neither|nor|cannot|without|unable|lacks?)\b"
    r"|n't\b|\bfail(?:s|ed|ing)?\s+to\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[,;:.()!?]|\b(?:but|while|whereas|so|and thus|which)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
# A negation's claim is the first few content words after it, within its clause ("does not rely on any
# backpropagation or reconstruction"). Scopes of 2, 3, 4 and 6 words caught 14, 19, 19 and 19 of the 30
# negated pairs and flagged 5, 5, 5 and 8 of the 120 supported ones (int8; evals/README.md, "Support check").
NEGATION_SCOPE = 4
# Only words rarer than this IDF count as the negated claim: "model" or "training" (IDF < 1 over the corpus)
# occur un-negated in nearly any passage; a threshold of 0 flagged 2 more supported sentences, 1.5 caught 1
# negated pair fewer.
NEGATION_MIN_IDF = 1.0


def has_negation(text: str) -> bool:
    """Whether a text negates ("not", "no", "never", "without", "cannot", "fails to", "doesn't", ...); "not only"
    and "no matter" are not negations."""
    return bool(_NEGATION.search(text))


def _content_words(text: str) -> list[str]:
    stop = _stop_words()
    return [w for w in (m.lower() for m in _WORD.findall(text)) if len(w) > 2 and w not in stop]


def _negation_scopes(text: str) -> tuple[set[str], set[str]]:
    """The content words each negation governs: the first NEGATION_SCOPE after it (the negated claim), and all
    the words after it to the end of its clause (none of which the text states positively)."""
    narrow: set[str] = set()
    wide: set[str] = set()
    for m in _NEGATION.finditer(text):
        rest = text[m.end() :]
        end = _CLAUSE_END.search(rest)
        words = _content_words(rest[: end.start()] if end else rest)
        narrow.update(words[:NEGATION_SCOPE])
        wide.update(words)
    return narrow, wide


def negation_conflicts(sentence: str, passage: str, idf: Callable[[str], float]) -> list[str]:
    """Rare words that one text negates and the other states positively (outside any negated clause): "needs
    additional training" against "requires no additional training" gives ["additional"]. Either direction.

    "with no verifiers" against "without the need for multiple model calls or the use of verifiers" is no
    conflict: "verifiers" is past the passage's first four negated words but still in its negated clause.
    """
    negated_s, clause_s = _negation_scopes(sentence)
    negated_p, clause_p = _negation_scopes(passage)
    stated_s = set(_content_words(sentence)) - clause_s
    stated_p = set(_content_words(passage)) - clause_p
    conflicts = (negated_s & stated_p) | (negated_p & stated_s)
    return sorted(w for w in conflicts if idf(w) >= NEGATION_MIN_IDF)


# --- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    min_similarity: float = MIN_SIMILARITY
    max_unmatched: float = MAX_UNMATCHED
    numbers: bool = True  # flag a sentence with a figure the cited text lacks
    # "scoped": flag a rare word negated on one side only (negation_conflicts); "parity": flag when one side has
    # a negation and the other none (the first rule; twice the false flags); "off"
    negation: Literal["scoped", "parity", "off"] = "scoped"
    pairs: bool = True  # similarity also to two consecutive cited sentences, not only to single ones


@dataclass(frozen=True)
class Signals:
    """What the check measures, before any threshold."""

    similarity: float  # best cosine to one cited sentence or two consecutive ones
    similarity_single: float  # best cosine to one cited sentence
    unmatched: float  # IDF-weighted share of content words without a close token in the cited text
    best_sentence: str  # the cited passage (sentence or pair) that matched best
    missing_numbers: list[str] = field(default_factory=list)
    negation_words: list[str] = field(default_factory=list)  # negation_conflicts with best_sentence
    negation_parity: bool = False  # one of sentence and best_sentence negates, the other not
    unmatched_words: list[str] = field(default_factory=list)  # the content words below MATCH_FLOOR


@dataclass(frozen=True)
class SupportResult:
    supported: bool
    score: float  # the similarity signal: best cosine to a cited sentence or pair of sentences
    best_sentence: str
    reasons: list[str]  # why it was flagged; empty when supported
    signals: Signals | None = None


@dataclass(frozen=True)
class SentenceSupport:
    sentence: str  # as written in the answer, markers included
    markers: list[int]  # the source numbers it cites
    result: SupportResult | None  # None: no markers, so not checked

    @property
    def checked(self) -> bool:
        return self.result is not None

    @property
    def flagged(self) -> bool:
        return self.result is not None and not self.result.supported


def decide(signals: Signals, thresholds: Thresholds | None = None) -> SupportResult:
    """Apply the thresholds to measured signals (split out so the calibration can sweep them)."""
    t = thresholds or Thresholds()
    similarity = signals.similarity if t.pairs else signals.similarity_single
    reasons = []
    if similarity < t.min_similarity:
        reasons.append(f"no cited passage is close (best cosine {similarity:.2f} < {t.min_similarity})")
    if signals.unmatched > t.max_unmatched:
        words = ", ".join(signals.unmatched_words[:5])
        reasons.append(f"the cited text lacks words of it ({words}: {signals.unmatched:.2f} > {t.max_unmatched})")
    if t.numbers and signals.missing_numbers:
        reasons.append(f"figures not in the cited text: {', '.join(signals.missing_numbers)}")
    if t.negation == "scoped" and signals.negation_words:
        reasons.append(f"negated on one side only: {', '.join(signals.negation_words)}")
    if t.negation == "parity" and signals.negation_parity:
        reasons.append("one of it and the closest cited passage negates, the other not")
    return SupportResult(not reasons, similarity, signals.best_sentence, reasons, signals)


# --- measuring ------------------------------------------------------------------------------------------

# Words that phrase an answer about a paper rather than state its content ("the authors show ..."); with
# bm25s' English stop words they are left out of the word match.
_ANSWER_WORDS = (
    "paper papers study work article authors author propose proposes proposed introduce introduces introduced "
    "describe describes show shows showed shown find finds found report reports reported present presents method "
    "approach also"
)
_WORD_LIMIT = 150  # words per window of cited text: within the model's 256-token limit, as retrieve._windows


@functools.cache
def _stop_words() -> frozenset[str]:
    from assistant.bm25 import stop_words

    return stop_words() | frozenset(_ANSWER_WORDS.split())


@functools.cache
def corpus_idf() -> Callable[[str], float]:
    """IDF of a lower-cased word over the bundled corpus's titles and abstracts (Snowball stems, as the store's
    BM25 index counts them): log((N + 1) / (df + 0.5)); a word the corpus lacks gets the highest weight."""
    import Stemmer

    from assistant.config import bundled_corpus_files
    from assistant.sources import read_file

    stemmer = Stemmer.Stemmer("english")
    df: dict[str, int] = {}
    texts = {p.id: f"{p.title} {p.abstract}" for path in bundled_corpus_files() for p in read_file(path).papers}
    for text in texts.values():
        for stem in set(stemmer.stemWords(re.findall(r"[a-z0-9]+", text.lower()))):
            df[stem] = df.get(stem, 0) + 1
    n = len(texts)

    def idf(word: str) -> float:
        return math.log((n + 1) / (df.get(stemmer.stemWord(word), 0) + 0.5))

    return idf


@dataclass
class _SourceView:
    """One cited text, prepared once: its passages (sentences and pairs), their vectors, its token vectors."""

    passages: list[str]  # the sentences, then each two consecutive ones
    n_sentences: int
    vectors: np.ndarray
    tokens: np.ndarray  # unit-length contextual token vectors of the whole text, [CLS]/[SEP] left out


_VIEWS: OrderedDict[tuple[str, str], _SourceView] = OrderedDict()
_VIEW_CACHE = 256  # cited texts kept per process: an answer cites a few, the calibration 62


def _windows(text: str) -> list[str]:
    windows, current = [], ""
    for sentence in split_sentences(text) or [text]:
        if current and len(f"{current} {sentence}".split()) > _WORD_LIMIT:
            windows.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}".strip()
    return [*windows, current] if current else windows


def _view(encoder: LocalEncoder, text: str) -> _SourceView:
    import numpy as np

    key = (encoder.name, text)
    if key in _VIEWS:
        _VIEWS.move_to_end(key)
        return _VIEWS[key]
    sentences = split_sentences(text) or [text]
    pairs = [f"{a} {b}" for a, b in zip(sentences, sentences[1:], strict=False)]
    passages = sentences + pairs
    tokens = np.concatenate([vectors[1:-1] for _, vectors in encoder.token_vectors(_windows(text))])
    view = _SourceView(passages, len(sentences), encoder.embed(passages), tokens)
    _VIEWS[key] = view
    if len(_VIEWS) > _VIEW_CACHE:
        _VIEWS.popitem(last=False)
    return view


def _unmatched(sentence: str, sources: list[_SourceView], encoder: LocalEncoder, idf) -> tuple[float, list[str]]:
    """IDF-weighted shortfall of the sentence's content words below MATCH_FLOOR, over their total IDF."""
    import numpy as np

    (encoding, vectors), *_ = encoder.token_vectors([sentence])
    best = (vectors @ np.concatenate([s.tokens for s in sources]).T).max(axis=1)
    pieces: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None:
            pieces.setdefault(word, []).append(position)
    stop = _stop_words()
    shortfall = total = 0.0
    missing = []
    for positions in pieces.values():
        word = sentence[encoding.offsets[positions[0]][0] : encoding.offsets[positions[-1]][1]].lower()
        # numbers are the number check's: their word pieces match any digits
        if len(word) < 2 or not word.isalnum() or word.isdigit() or word in stop:
            continue
        weight = idf(word)
        match = float(best[positions].mean())
        shortfall += weight * max(0.0, MATCH_FLOOR - match)
        total += weight
        if match < MATCH_FLOOR:
            missing.append(word)
    return (shortfall / total if total else 0.0), missing


def measure(
    sentence: str, cited: Sequence[str], settings: Settings, idf: Callable[[str], float] | None = None
) -> Signals:
    """The signals for one sentence (markers are stripped) against the texts it cites, taken together."""
    from assistant.embeddings import support_encoder

    sentence = strip_markers(sentence)
    if not cited or not sentence:
        return Signals(0.0, 0.0, 1.0, "")
    idf = idf or corpus_idf()
    encoder = support_encoder(settings)
    views = [_view(encoder, text) for text in cited]
    vector = encoder.embed([sentence])[0]
    best, best_single, best_passage = -1.0, -1.0, ""
    for view in views:
        scores = view.vectors @ vector
        i = int(scores.argmax())
        if scores[i] > best:
            best, best_passage = float(scores[i]), view.passages[i]
        best_single = max(best_single, float(scores[: view.n_sentences].max()))
    unmatched, words = _unmatched(sentence, views, encoder, idf)
    return Signals(
        similarity=best,
        similarity_single=best_single,
        unmatched=unmatched,
        best_sentence=best_passage,
        missing_numbers=missing_numbers(sentence, " ".join(cited)),
        negation_words=negation_conflicts(sentence, best_passage, idf),
        negation_parity=has_negation(sentence) != has_negation(best_passage),
        unmatched_words=words,
    )


# --- public API -----------------------------------------------------------------------------------------


def check_support(
    sentence: str,
    cited_abstracts: Sequence[str],
    settings: Settings,
    *,
    thresholds: Thresholds | None = None,
    idf: Callable[[str], float] | None = None,
) -> SupportResult:
    """Whether the sentence (markers are stripped) is backed by the cited texts taken together.

    Pass each cited paper as "Title. Abstract" (what the answer was written from; the calibration does).
    `idf` weights the words (default: over the bundled corpus, see corpus_idf).
    """
    return decide(measure(sentence, cited_abstracts, settings, idf), thresholds)


def check_answer(
    text: str,
    sources: Sequence[str],
    settings: Settings,
    *,
    thresholds: Thresholds | None = None,
    idf: Callable[[str], float] | None = None,
) -> list[SentenceSupport]:
    """Every sentence of an answer, in order; those with markers are checked against the sources they cite
    (sources[n - 1] for marker [n]). A marker that points to no source flags its sentence."""
    out = []
    for sentence in split_sentences(text):
        markers = parse_markers(sentence)
        if not markers:
            out.append(SentenceSupport(sentence, markers, None))
            continue
        bad = [n for n in markers if not 1 <= n <= len(sources)]
        if bad:
            reason = f"cites {', '.join(f'[{n}]' for n in bad)}, which no source answers to"
            out.append(SentenceSupport(sentence, markers, SupportResult(False, 0.0, "", [reason])))
            continue
        cited = [sources[n - 1] for n in markers]
        result = check_support(sentence, cited, settings, thresholds=thresholds, idf=idf)
        out.append(SentenceSupport(sentence, markers, result))
    return out

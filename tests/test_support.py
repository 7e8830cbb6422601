"""The per-sentence support check: figures, markers and negation as tables; then the check itself on bundled
abstracts with the local model (int8, the default runtime)."""

from __future__ import annotations

import pytest

from assistant import support
from assistant.config import Settings, bundled_corpus_files
from assistant.sources import read_file

# --- figures --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accuracy of 86.81%", [(86.81, 1)]),
        ("86.81 percent", [(86.81, 1)]),
        ("7 billion parameters", [(7, 1e9)]),
        ("a 7B model", [(7, 1e9)]),
        ("a 7-billion-parameter model", [(7, 1e9)]),
        ("Mistral-7B", [(7, 1e9)]),
        ("TAID-LLM-1.5B", [(1.5, 1e9)]),
        ("124M to 1.4B", [(124, 1e6), (1.4, 1e9)]),
        ("2048K tokens", [(2048, 1e3)]),
        ("1,281,040 relaxations", [(1281040, 1)]),
        ("a 2x speedup", [(2, 1)]),
        ("2× faster", [(2, 1)]),
        ("up to 5X", [(5, 1)]),
        ("1.9 to 4.0 times", [(1.9, 1), (4.0, 1)]),
        ("1.6-1.8times", [(1.6, 1), (1.8, 1)]),
        ("four benchmarks", [(4, 1)]),
        ("ten times larger", [(10, 1)]),
        ("4-bit weights", [(4, 1)]),
        # names, not figures
        ("GPT-4 and Llama-2", []),
        ("T5, A100, W4A16 and INT4", []),
        ("3D shapes, the 1st place, Mixtral 8x7B", []),
        # "one" is a pronoun in an answer, a figure only in a cited text
        ("the one that works", []),
        ("markers are not figures [1, 2]", []),
    ],
)
def test_extract_numbers(text, expected):
    got = [(n.value, n.scale) for n in support.extract_numbers(text)]
    assert got == [(pytest.approx(v), s) for v, s in expected]


def test_a_cited_text_also_counts_one_and_numbers_glued_to_units():
    assert [n.value for n in support.extract_numbers("one epoch at 30TF on 24G", source=True)] == [30, 24, 1]
    assert support.extract_numbers("one epoch at 30TF on 24G") == []


@pytest.mark.parametrize(
    ("sentence", "source", "missing"),
    [
        ("It has 7 billion parameters.", "a 7B model", []),
        ("It has 7B parameters.", "a 7-billion-parameter model", []),
        ("It scores 86.81 percent.", "achieves 86.81% on GSM8k", []),
        ("It runs ten times faster.", "a 10x speedup", []),
        ("It trains for 1 epoch.", "train for only one epoch", []),
        ("Sizes 7 and 13 billion.", "models at 7B and 13B scales", []),  # "7" is held by "7B"
        ("It holds 1281040 items.", "consisting of 1,281,040 items", []),
        ("It scores 88.81%.", "achieves 86.81% on GSM8k", ["88.81%"]),
        ("It has 13B parameters.", "a 13M model", ["13B"]),  # same digits, another scale
        ("It uses six domains.", "in four domains", ["six"]),
        ("Speedups of 2x and 3x.", "a 2x speedup", ["3x"]),
        ("It runs 1.85x faster than GPTQ.", "1.45x over GPTQ and 1.85x over cuBLAS", []),  # a swap is not seen
    ],
)
def test_missing_numbers(sentence, source, missing):
    assert support.missing_numbers(sentence, source) == missing


# --- sentences and markers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "markers", "stripped"),
    [
        ("A claim [1].", [1], "A claim."),
        ("A claim [1, 2].", [1, 2], "A claim."),
        ("A claim [2][1] and another [3].", [2, 1, 3], "A claim and another."),
        ("A [1] and B [2, 1].", [1, 2], "A and B."),
        ("No markers here.", [], "No markers here."),
        ("A list [a] is not a marker.", [], "A list [a] is not a marker."),
    ],
)
def test_markers(sentence, markers, stripped):
    assert support.parse_markers(sentence) == markers
    assert support.strip_markers(sentence) == stripped


def test_split_sentences_keeps_markers_with_their_sentence():
    text = "AWQ is fast [1]. It uses 4 bits. [2] Short [3]. See e.g. this one [1, 2]."
    assert support.split_sentences(text) == [
        "AWQ is fast [1].",
        "It uses 4 bits [2].",
        "Short [3].",
        "See e.g. this one [1, 2].",
    ]


# --- negation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "negates"),
    [
        ("It does not rely on backpropagation.", True),
        ("It requires no additional training.", True),
        ("It doesn't scale.", True),
        ("It fails to generalize.", True),
        ("It trains without retraining from scratch.", True),
        ("It not only saves memory but also time.", False),
        ("Sequences vary, no matter the modality.", False),
        ("It relies on backpropagation.", False),
    ],
)
def test_has_negation(text, negates):
    assert support.has_negation(text) is negates


def _idf(word: str) -> float:
    return 0.2 if word in {"model", "training"} else 3.0  # "model" and "training" are common in the corpus


@pytest.mark.parametrize(
    ("sentence", "passage", "conflicts"),
    [
        ("It needs additional training.", "It requires no additional training.", ["additional"]),
        ("It does not use backpropagation.", "It relies on backpropagation.", ["backpropagation"]),
        ("It needs no extra labels.", "It requires no extra labels.", []),  # both negate
        # "verifiers" is past the first four negated words of the passage, but in its negated clause
        ("It uses no verifiers.", "It works without the need for multiple model calls or the use of verifiers.", []),
        # the negation governs other words than the ones the paraphrase repeats
        ("Accuracy is lossless.", "It keeps accuracy, without retraining.", []),
        # only common words in the negated part: no evidence of a reversed claim
        ("The model needs training.", "It requires no model training.", []),
    ],
)
def test_negation_conflicts(sentence, passage, conflicts):
    assert support.negation_conflicts(sentence, passage, _idf) == conflicts


# --- decisions from measured signals --------------------------------------------------------------------


def _signals(**kw) -> support.Signals:
    base = {"similarity": 0.8, "similarity_single": 0.8, "unmatched": 0.0, "best_sentence": "s"}
    return support.Signals(**{**base, **kw})


@pytest.mark.parametrize(
    ("signals", "reason"),
    [
        (_signals(), None),
        (_signals(similarity=support.MIN_SIMILARITY - 0.01), "no cited passage is close"),
        (_signals(unmatched=support.MAX_UNMATCHED + 0.01, unmatched_words=["protein"]), "protein"),
        (_signals(missing_numbers=["88.81%"]), "figures not in the cited text: 88.81%"),
        (_signals(negation_words=["additional"]), "negated on one side only: additional"),
    ],
)
def test_decide(signals, reason):
    result = support.decide(signals)
    assert result.supported is (reason is None)
    assert all(reason in r for r in result.reasons) and len(result.reasons) == (reason is not None)


def test_parity_negation_is_a_choice():
    signals = _signals(negation_parity=True)
    assert support.decide(signals).supported
    assert not support.decide(signals, support.Thresholds(negation="parity")).supported


# --- the check on bundled abstracts (loads the local model) ---------------------------------------------


@pytest.fixture(scope="module")
def abstracts() -> dict[str, str]:
    papers = [p for path in bundled_corpus_files() for p in read_file(path).papers]
    return {p.title.split(":")[0]: f"{p.title}. {p.abstract}" for p in papers}


@pytest.fixture
def settings() -> Settings:
    return Settings()  # offline int8 model; the conftest points its ONNX export at one cache per run


ORCA = "Orca-Math"
GLM = "GLM-130B"
OC20 = "The Open Catalyst 2020 (OC20) Dataset and Community Challenges"
PARAPHRASE = "Built on Mistral-7B, Orca-Math is a 7-billion-parameter model that gets 86.81% on GSM8K with no verifiers or extra model calls."


def test_a_faithful_paraphrase_is_supported(abstracts, settings):
    result = support.check_support(PARAPHRASE, [abstracts[ORCA]], settings)
    assert result.supported, result.reasons
    assert "86.81%" in result.best_sentence


def test_the_same_sentence_with_a_changed_number_is_flagged(abstracts, settings):
    result = support.check_support(PARAPHRASE.replace("86.81%", "91.2%"), [abstracts[ORCA]], settings)
    assert not result.supported
    assert result.reasons == ["figures not in the cited text: 91.2%"]


def test_a_sentence_cited_to_an_unrelated_abstract_is_flagged(abstracts, settings):
    result = support.check_support(PARAPHRASE, [abstracts[OC20]], settings)
    assert not result.supported
    assert result.score < support.MIN_SIMILARITY
    assert any("lacks words" in r for r in result.reasons)


def test_a_negated_claim_is_flagged(abstracts, settings):
    faithful = "GLM-130B reaches INT4 quantization without quantization-aware training."
    assert support.check_support(faithful, [abstracts[GLM]], settings).supported
    reversed_claim = "GLM-130B needs quantization-aware training to reach INT4."
    result = support.check_support(reversed_claim, [abstracts[GLM]], settings)
    assert not result.supported
    assert any("negated on one side only" in r for r in result.reasons)


def test_check_answer_checks_each_cited_sentence_against_its_own_sources(abstracts, settings):
    answer = (
        "Two papers are relevant. "
        f"{PARAPHRASE.rstrip('.')} [1]. "
        "GLM-130B is an open bilingual model with 130 billion parameters [2]. "
        "GLM-130B is an open bilingual model with 130 billion parameters [1]. "
        "It was also evaluated on ImageNet [3]."
    )
    results = support.check_answer(answer, [abstracts[ORCA], abstracts[GLM]], settings)
    assert [r.markers for r in results] == [[], [1], [2], [1], [3]]
    assert [r.checked for r in results] == [False, True, True, True, True]
    assert [r.flagged for r in results] == [False, False, False, True, True]
    assert "no source" in results[4].result.reasons[0]


def test_markers_are_stripped_before_scoring(abstracts, settings):
    plain = support.check_support(PARAPHRASE, [abstracts[ORCA]], settings)
    marked = support.check_support(PARAPHRASE.rstrip(".") + " [1, 2].", [abstracts[ORCA]], settings)
    assert marked.score == pytest.approx(plain.score) and marked.supported

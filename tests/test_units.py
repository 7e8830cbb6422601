"""The pure cores of the pipeline stages, table-driven: fusion, sentence splitting, which sentences an
extractive answer quotes, how many papers it may quote, prompt validation and filling, marker cleaning."""

from __future__ import annotations

import pytest

from assistant.citations import cited_numbers, clean_markers
from assistant.errors import PapersError
from assistant.extractive import asks_quantity, papers_wanted, select
from assistant.fusion import fuse, order, ranks, zscores
from assistant.models import Hit
from assistant.prompts import fill, load_prompt
from assistant.text import split_sentences


@pytest.mark.parametrize(
    ("signals", "weights", "prefer", "expected_order"),
    [
        # agreement wins; a paper that one signal scores high still ranks
        ({"dense": {"a": 0.9, "b": 0.5, "c": 0.4}, "bm25": {"a": 9.0, "b": 0.0, "c": 5.0}}, {}, (), ["a", "c", "b"]),
        # a weight of 0 silences a signal
        ({"dense": {"a": 0.9, "b": 0.5}, "bm25": {"a": 0.0, "b": 9.0}}, {"bm25": 0.0}, (), ["a", "b"]),
        ({"dense": {"a": 0.9, "b": 0.5}, "bm25": {"a": 0.0, "b": 9.0}}, {"dense": 0.0}, (), ["b", "a"]),
        # scores, not ranks: a signal that barely separates the papers barely moves the order
        (
            {"dense": {"a": 0.80, "b": 0.20, "c": 0.50}, "bm25": {"a": 1.00, "b": 1.02, "c": 1.01}},
            {"bm25": 0.5},
            (),
            ["a", "c", "b"],
        ),
        # the preferred paper (cited by the last answer) wins a near tie...
        ({"dense": {"a": 0.60, "b": 0.59, "c": 0.1}}, {}, ("b",), ["b", "a", "c"]),
        # ...but not against a clear difference
        ({"dense": {"a": 0.9, "b": 0.1, "c": 0.1, "d": 0.1}}, {}, ("b",), ["a", "b", "c", "d"]),
        # all equal: ties broken by id, so output is stable
        ({"dense": {"b": 0.5, "a": 0.5}}, {}, (), ["a", "b"]),
    ],
)
def test_fuse_orders_by_weighted_standardised_scores(signals, weights, prefer, expected_order):
    assert order(fuse(signals, weights, prefer=prefer)) == expected_order


def test_fuse_is_the_weighted_sum_of_z_scores():
    scores = fuse({"dense": {"a": 1.0, "b": 0.0}, "bm25": {"a": 0.0, "b": 4.0}}, {"dense": 2.0})
    assert scores == pytest.approx({"a": 2.0 - 1.0, "b": -2.0 + 1.0})
    assert zscores({"x": 3.0, "y": 3.0}) == {"x": 0.0, "y": 0.0}
    assert zscores({"x": 0.1, "y": 0.1, "z": 0.1}) == {"x": 0.0, "y": 0.0, "z": 0.0}  # numpy: std 1e-17


def test_ranks_are_one_based_with_stable_ties():
    assert ranks({"x": 0.5, "y": 0.9, "z": 0.5}) == {"y": 1, "x": 2, "z": 3}


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("We propose X. It beats Y by 3 points on Z.", ["We propose X.", "It beats Y by 3 points on Z."][1:]),
        (
            "Prior work, e.g. Smith et al. 2020, trains on labels. We train without labels instead.",
            ["Prior work, e.g. Smith et al. 2020, trains on labels.", "We train without labels instead."],
        ),
        ("The accuracy rises to 86.81% on GSM8K. Code is released.", ["The accuracy rises to 86.81% on GSM8K."]),
        ("Is it enough? Yes: one pass over the data suffices.", ["Yes: one pass over the data suffices."]),
    ],
)
def test_split_sentences_keeps_abbreviations_and_drops_fragments(text, sentences):
    assert split_sentences(text) == sentences


@pytest.mark.parametrize(
    ("similarity", "papers", "max_papers", "chosen"),
    [
        # one paper wanted: its three best sentences, nothing else
        ([0.9, 0.8, 0.7, 0.6, 0.95], [1, 1, 1, 1, 2], 1, [4, 0, 1]),
        # several papers (a figure question): three from the top paper, one from each other paper close
        # enough, five at most
        ([0.9, 0.85, 0.8, 0.88, 0.87, 0.86, 0.84], [1, 1, 1, 2, 3, 4, 5], 3, [0, 3, 4, 5, 1]),
        ([0.9, 0.89, 0.8, 0.88, 0.79], [1, 1, 1, 2, 1], 3, [0, 1, 3, 2]),
        # another paper's sentence far below the best one (more than the margin) is left out
        ([0.9, 0.85, 0.7], [1, 1, 2], 3, [0, 1]),
    ],
)
def test_select_limits_sentences_per_paper_and_per_answer(similarity, papers, max_papers, chosen):
    assert select(similarity, papers, max_papers) == chosen


def _hit(title: str) -> Hit:
    return Hit(paper_id="p", title=title, score=0.0, relevance=0.5)


@pytest.mark.parametrize(
    ("question", "wanted"),
    [
        ("Which papers study mixture-of-experts routing?", 5),  # every retrieved paper that answers
        ("Which paper trains small models on rationales?", 1),
        ("Is there a paper on whale songs?", 1),
        ("What does TokenFormer change in the transformer?", 1),  # names the top paper
        ("How do people compress the KV cache?", 5),  # asks after a body of work
        ("Is there work on compressing the KV cache?", 5),
        ("Are there surveys of mixture-of-experts models?", 5),
        ("compressing the KV cache by evicting tokens", 1),  # no cue: the top paper
        ("Explain how the method works", 1),
        ("How many layers are there in the largest model?", 3),  # a figure, not a list of papers
        ("How much memory does evicting KV-cache tokens save?", 3),  # a figure may be in another candidate
    ],
)
def test_papers_wanted_follows_the_question(question, wanted):
    hits = [_hit("TokenFormer: Rethinking Transformer Scaling")] + [_hit(f"Paper {i}") for i in range(4)]
    assert papers_wanted(question, hits) == wanted


@pytest.mark.parametrize(
    ("question", "quantity"),
    [
        ("How many GPUs did they use?", True),
        ("What share of the data is synthetic?", True),
        ("What percent of the weights are trained?", True),
        ("Sparse routing raised the math score to what?", True),
        ("Why does it work?", False),
    ],
)
def test_quantity_questions_are_recognised(question, quantity):
    assert asks_quantity(question) is quantity


def test_prompt_placeholders_are_checked_and_values_never_re_expanded(tmp_path):
    (tmp_path / "answer.md").write_text("Q: {question}\n{context}\nLiteral {{braces}}.")
    template = load_prompt(tmp_path, "answer.md")
    filled = fill(template, question="what is {context}?", context="<source>x</source>")
    assert filled == "Q: what is {context}?\n<source>x</source>\nLiteral {braces}."

    (tmp_path / "answer.md").write_text("Q: {question}")
    with pytest.raises(PapersError, match=r"lacks \{context\}"):
        load_prompt(tmp_path, "answer.md")
    (tmp_path / "answer.md").write_text("{question} {context} {extra}")
    with pytest.raises(PapersError, match=r"unknown placeholder \{extra\}"):
        load_prompt(tmp_path, "answer.md")
    (tmp_path / "answer.md").write_text("{question} {context} and a lone { brace")
    with pytest.raises(PapersError, match="not a valid template"):
        load_prompt(tmp_path, "answer.md")
    (tmp_path / "system.md").write_text("Answer from the sources.")  # the abstention sentence is a placeholder
    with pytest.raises(PapersError, match=r"lacks \{cannot_answer\}"):
        load_prompt(tmp_path, "system.md")


@pytest.mark.parametrize(
    ("text", "cleaned", "removed"),
    [
        ("A [1]. B [2, 7]. C [9].", "A [1]. B [2]. C.", ["[2, 7]", "[9]"]),
        ("Nothing cited.", "Nothing cited.", []),
        ("Both [1,2].", "Both [1, 2].", []),
    ],
)
def test_markers_pointing_to_no_source_are_removed(text, cleaned, removed):
    got: list[str] = []
    assert clean_markers(text, 2, got) == cleaned and got == removed
    assert all(1 <= n <= 2 for n in cited_numbers(cleaned))


def test_a_users_prompt_folder_overrides_file_by_file(tmp_path):
    """PAPERS_PROMPTS may hold only the template the user changed; the others come from the package."""
    from assistant.config import BUNDLED_PROMPTS
    from assistant.prompts import prompt_path

    (tmp_path / "answer.md").write_text("Sources:\n{context}\nQ: {question}\nAnswer briefly, citing [n].")
    assert load_prompt(tmp_path, "answer.md").endswith("Answer briefly, citing [n].")
    assert prompt_path(tmp_path, "system.md") == BUNDLED_PROMPTS / "system.md"
    assert "{cannot_answer}" in load_prompt(tmp_path, "system.md")
    assert prompt_path(None, "condense.md").exists()


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("a [1][2].", "a [1, 2]."),
        ("b [1-3].", "b [1, 2, 3]."),
        ("c 【1】 and 【1，2】", "c [1] and [1,2]"),
        ("d (1) and (2, 3)", "d [1] and [2, 3]"),
        ("e Source 1 says", "e [1] says"),
        ("f [n=1] g [Source 2]", "f [1] g [2]"),
        ("a year (2023) stays", "a year (2023) stays"),
    ],
)
def test_marker_forms_models_write_are_read_as_markers(text, normalised):
    from assistant.citations import normalise_markers

    assert normalise_markers(text) == normalised

"""Ingest, retrieval and extractive answers on real embeddings."""

from __future__ import annotations

import pytest

from assistant.answer import answer
from assistant.citations import CitationStream, clean_markers
from assistant.errors import PapersError
from assistant.ingest import ingest
from assistant.models import CANNOT_ANSWER, Filters
from assistant.retrieve import retrieve
from assistant.store import open_store
from tests.conftest import SMALL_CORPUS, make_settings, write_jsonl


def test_ingest_twice_adds_nothing_and_says_so(tmp_path):
    settings = make_settings(tmp_path / "store")
    corpus = write_jsonl(tmp_path / "small.jsonl", SMALL_CORPUS + SMALL_CORPUS[:1])
    first = ingest([corpus], settings)
    assert (first.new, first.present, first.duplicates) == (3, 0, 1)
    chunks = open_store(settings).count()
    assert first.chunks == chunks >= 3
    second = ingest([corpus], settings)
    assert (second.new, second.present, second.chunks) == (0, 3, 0)
    assert "0 new papers, 3 already present" in second.summary()
    assert open_store(settings).count() == chunks


def test_ingest_writes_each_batch_before_reading_the_rest_of_the_input(tmp_path, monkeypatch):
    """Memory is bounded by the batch, not the input: the first papers are stored while the file is still being
    read, and progress says how many papers are done and how much of the file was read."""
    from assistant import ingest as ingest_module
    from assistant import sources
    from assistant.store import Store

    records = [
        {"title": f"Routing study {i}", "abstract": f"We measure expert routing sparsity in experiment number {i}."}
        for i in range(40)
    ]
    corpus = write_jsonl(tmp_path / "many.jsonl", records)
    monkeypatch.setattr(ingest_module, "BATCH_PAPERS", 8)
    read: list = []
    reader = sources.iter_records

    def counted(*args, **kwargs):
        for item in reader(*args, **kwargs):
            read.append(item)
            yield item

    read_at_first_write: list[int] = []
    add = Store.add

    def first_write_noted(self, chunks, vectors):
        read_at_first_write.append(len(read))
        add(self, chunks, vectors)

    monkeypatch.setattr(sources, "iter_records", counted)
    monkeypatch.setattr(Store, "add", first_write_noted)
    seen: list = []
    report = ingest([corpus], make_settings(tmp_path / "store"), progress=seen.append)
    assert report.new == 40 and len(read) == 40
    assert read_at_first_write[0] == 8  # one batch read, then written; the other 32 records not yet read
    size = corpus.stat().st_size
    papers = [(at.papers, at.bytes_read) for at in seen if at.stage == "embed"]
    assert [n for n, _ in papers] == [0, 8, 16, 24, 32, 40]
    assert 0 < papers[1][1] < size / 2 and all(at.bytes_total == size for at in seen)
    assert seen[-1].stage == "done" and seen[-1].bytes_read == size


def _daily_page(header: str, papers: list[dict], dates: dict[str, str]) -> str:
    """A Daily Papers page saved as text; a paper gets a byline and date line when `dates` has its title."""
    lines = ["new", "Get trending papers in your email inbox!", "Subscribe", "byAK and the research community", header]
    for paper in papers:
        lines += [paper["title"], paper["abstract"]]
        if paper["title"] in dates:
            lines += ["  • 4 authors", "·", dates[paper["title"]]]
    return "\n\n".join(lines) + "\n"


def test_a_paper_undated_on_one_page_takes_the_date_another_page_gives_it(tmp_path):
    from assistant.retrieve import undated

    gradients, whales, solar = SMALL_CORPUS
    first_page = tmp_path / "page-1.txt"  # the papers without date lines, as a page of search results shows them
    first_page.write_text(_daily_page("Mar 11", [gradients, whales], {}), encoding="utf-8")
    second_page = tmp_path / "page-2.txt"
    second_page.write_text(
        _daily_page("Nov 20", [solar, whales], {solar["title"]: "Nov 15, 2022", whales["title"]: "Oct 4, 2024 12"}),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path / "store")
    ingest([first_page], settings)
    assert undated(settings) == 2
    both = ingest([first_page, second_page], settings)
    assert (both.new, both.present, both.duplicates, both.dated) == (1, 2, 1, 1)
    assert "1 duplicates (1 of them dated a paper stored without a date)" in both.summary()
    assert undated(settings) == 1  # the gradient paper: no page dates it
    hits = retrieve("whale song transcription", settings, filters=Filters(since="2024-01-01")).hits
    assert [(h.title, h.metadata["date_iso"]) for h in hits] == [(whales["title"], "2024-10-04")]
    again = ingest([first_page, second_page], settings)
    assert (again.new, again.present, again.dated) == (0, 3, 0) and undated(settings) == 1


def test_a_different_embedding_model_is_refused_with_the_fix(tmp_path):
    settings = make_settings(tmp_path / "store")
    ingest([write_jsonl(tmp_path / "small.jsonl", SMALL_CORPUS)], settings)
    other = settings.updated(embedding={"backend": "openai", "model": "text-embedding-3-small"})
    with pytest.raises(PapersError) as caught:
        retrieve("whales", other)
    assert "all-mpnet-base-v2-int8-pc" in caught.value.message and "text-embedding-3-small" in caught.value.message
    assert "papers ingest --rebuild" in caught.value.fix


def test_bundled_corpus_holds_369_papers(corpus_settings):
    store = open_store(corpus_settings)
    assert len(store.bm25().paper_ids) == 369
    assert store.info()["embed_model"] == "all-mpnet-base-v2-int8-pc" and store.info()["embed_dim"] == 768


@pytest.mark.parametrize(
    ("question", "title"),
    [
        (
            "Which work trains small task-specific models on LLM-written rationales, needing far fewer labelled examples?",
            "Distilling Step-by-Step! Outperforming Larger Language Models with Less Training Data and Smaller Model Sizes",
        ),
        (
            "an architecture where the weights themselves are handled as tokens that attention can query",
            "TokenFormer: Rethinking Transformer Scaling with Tokenized Model Parameters",
        ),
        (
            "fine-tuning language models on encrypted text so the provider cannot read user inputs",
            "SentinelLMs: Encrypted Input Adaptation and Fine-tuning of Language Models for Private and Secure Inference",
        ),
    ],
)
def test_paraphrased_question_finds_the_paper_first(corpus_settings, question, title):
    hits = retrieve(question, corpus_settings).hits
    assert hits[0].title == title


def test_date_filter_keeps_only_papers_in_range(corpus_settings):
    hits = retrieve("language models", corpus_settings, top_k=10, filters=Filters(since="2024-01-01")).hits
    assert hits and all(h.metadata["date_iso"] >= "2024-01-01" for h in hits)


def test_extractive_answer_cites_only_retrieved_titles(corpus_settings):
    result = answer("How does TokenFormer scale a transformer without retraining from scratch?", corpus_settings)
    assert result.mode == "extractive" and not result.abstained
    retrieved = {h.title for h in result.sources}
    assert result.citations and {c.title for c in result.citations} <= retrieved
    assert result.citations[0].title.startswith("TokenFormer")
    for citation in result.citations:  # every quoted sentence is in the cited abstract
        assert citation.text in result.sources[citation.n - 1].abstract
        assert f"[{citation.n}]" in result.text


def test_off_topic_question_abstains_and_lists_nearest_titles(corpus_settings):
    result = answer("What is a good recipe for sourdough bread with rye flour?", corpus_settings)
    assert result.abstained and result.text == CANNOT_ANSWER and result.citations == []
    assert result.sources  # the nearest titles are still shown


def test_fabricated_markers_are_removed_and_reported():
    removed: list[str] = []
    text = clean_markers("Real claim [1]. Made up [7]. Mixed [2, 9].", n_sources=2, removed=removed)
    assert text == "Real claim [1]. Made up. Mixed [2]."
    assert removed == ["[7]", "[2, 9]"]


def test_streamed_markers_are_cleaned_even_when_split_across_pieces():
    stream = CitationStream(n_sources=3)
    pieces = ["Claim [", "1", "]. Fake [1", "2] end [3", "]. Array [x] ok"]
    text = "".join(stream.feed(p) for p in pieces) + stream.finish()
    assert text == "Claim [1]. Fake end [3]. Array [x] ok"
    assert stream.removed == ["[12]"]


def test_common_env_vars_do_not_leak_into_settings(monkeypatch):
    """$PATH, $API_KEY, $BASE_URL must not be read as the store path or the LLM settings."""
    from assistant.config import Settings, bundled_corpus_files

    monkeypatch.delenv("PAPERS_STORE")
    monkeypatch.setenv("API_KEY", "sk-not-ours")
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:9/v1")
    settings = Settings()
    assert settings.store.path == bundled_corpus_files()[0].parent.parent.parent / "store"  # the checkout's
    assert not settings.llm.configured


@pytest.mark.parametrize(
    "question",
    [
        # near misses that share most words with one abstract (questions on topics the corpus lacks outright,
        # such as tokamak plasma control, are answered with high confidence today: see evals/README.md)
        "Which paper uses locality-sensitive hashing to search protein structure databases?",
        "Which paper does semantic segmentation of LiDAR point clouds on mobile devices?",
    ],
)
def test_near_miss_is_refused_or_labelled_as_the_closest_match(corpus_settings, question):
    """Close in embedding space, but the top paper lacks what the question is about: never a confident answer."""
    result = answer(question, corpus_settings)
    assert result.abstained or result.confidence == "low"
    assert result.confidence != "high"


def test_a_figure_question_quotes_the_sentence_with_the_figure(corpus_settings):
    """A "How large ...?" question: the sentence giving the size with its unit is quoted, not ones that merely contain
    digits ("18 out of 26 tasks")."""
    result = answer("How large is the biggest model in the Omni-DNA family?", corpus_settings)
    assert result.citations[0].title.startswith("Omni-DNA")
    assert "1 billion" in result.text


def test_paraphrased_question_is_answered_confidently_although_its_words_differ(corpus_settings):
    """A single pass over the data, for "one epoch": few shared words, but every question word finds a close
    token in the paper, so it answers (exact word coverage abstained here)."""
    result = answer(
        "Which paper argues that a single pass over the training data is enough if the model size is adjusted "
        "instead of the number of epochs?",
        corpus_settings,
    )
    assert not result.abstained and result.confidence == "high"
    assert result.citations[0].title == "One Epoch Is All You Need"


README_QUESTION = "Which method uses LLM rationales to train smaller models that beat bigger ones?"


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_readme_example_is_answered_with_margin_on_both_runtimes(tmp_path_factory, corpus_settings, runtime):
    """The README's example is answered confidently with fp32 and int8 vectors, and no signal sits near a
    threshold: int8 arithmetic differs between CPUs (the old near-miss score was 0.0996 on one machine and
    0.1036 on another, around its 0.10 threshold), so each decision keeps a margin of 0.03."""
    from assistant import abstain
    from assistant.ingest import ingest

    settings = corpus_settings
    if runtime == "onnx":  # the shared store is int8: build an fp32 one
        settings = make_settings(tmp_path_factory.mktemp("fp32") / "store").updated(embedding={"runtime": "onnx"})
        ingest(None, settings)
    result = answer(README_QUESTION, settings)
    assert not result.abstained and result.confidence == "high"
    assert result.citations[0].title.startswith("Distilling Step-by-Step!")
    cfg, margin = settings.retrieval, 0.03
    relevance = max(h.relevance for h in result.sources)
    assert relevance >= cfg.confident_threshold + margin
    from assistant.store import open_store

    store = open_store(settings)
    words = abstain.word_matches(README_QUESTION, result.sources[0], store.bm25(), settings)
    matched = sum(w.match >= abstain.MATCH_FLOOR for w in words)
    near_floor = [w.word for w in words if abs(w.match - abstain.MATCH_FLOOR) < margin]
    # the share of matched words stays on the same side of MATCHED_SHARE even if every word near the floor flips
    assert (matched - len(near_floor)) >= abstain.MATCHED_SHARE * len(words) or matched + len(
        near_floor
    ) < abstain.MATCHED_SHARE * len(words)
    assert not [w.word for w in words if w.df <= abstain.RARE_DF and w.match < abstain.GAP_ONE + margin]
    assert len([w.word for w in words if w.df <= abstain.COMMON_DF and w.match < abstain.GAP_TWO + margin]) < 2


def test_offline_condense_joins_only_questions_that_refer_back(tmp_path):
    from assistant.chat import condense

    settings = make_settings(tmp_path / "s")
    history = ["Tell me about Orca-Math and grade school math."]
    assert (
        condense("How many parameters does it have?", history, settings)
        == f"{history[0]} How many parameters does it have?"
    )
    assert condense("And the dataset?", history, settings).startswith(history[0])  # three words or fewer
    new_topic = "Which paper trains LLMs with a 2048K context length?"
    assert condense(new_topic, history, settings) == new_topic


@pytest.mark.parametrize(
    ("question", "figure"),
    [
        pytest.param(
            "How many parameters does the Time-MoE model reach at its largest?",
            "2.4 billion",
            marks=pytest.mark.xfail(
                strict=True,
                reason="since the mpnet encoder the Time-MoE paper ranks 3rd fused and lower after the rerank: a "
                "hyphenated model name is matched as two common words ('time', 'moe')",
            ),
        ),
        ("How large is the model ZeRO-Offload can train on a single GPU?", "13 billion"),
    ],
)
def test_quantity_question_quotes_the_sentence_with_the_figure(corpus_settings, question, figure):
    """Asked "how many / how large", the extractive answer quotes the sentence that holds the number
    (without the preference it quoted the paper's introduction and never said the figure)."""
    result = answer(question, corpus_settings)
    assert not result.abstained and figure in result.text


def test_a_quoted_abstracts_own_reference_markers_are_not_citations(tmp_path):
    """An abstract that cites its own references ("[7]") is quoted without them: every marker in an answer
    points to a retrieved source."""
    settings = make_settings(tmp_path / "store")
    paper = {
        "title": "Gallium Nitride Switches for Solar Inverters",
        "abstract": "We raise solar inverter efficiency by three percent with gallium nitride switches [7]. "
        "Earlier silicon designs [12, 13] lose more energy as heat at high switching frequencies.",
    }
    ingest([write_jsonl(tmp_path / "c.jsonl", [*SMALL_CORPUS, paper])], settings)
    result = answer("How can gallium nitride switches raise solar inverter efficiency?", settings)
    assert result.citations and result.citations[0].title == paper["title"]
    assert "[7]" not in result.text and "[12" not in result.text
    assert {int(n) for n in __import__("re").findall(r"\[(\d+)", result.text)} <= set(range(1, len(result.sources) + 1))


def test_dense_search_finds_the_exact_nearest_chunks_every_time(corpus_settings):
    """Chroma's default HNSW search missed some of the 40 nearest chunks (0.90 of them at worst) and differed
    from one process to the next, so the same question could rank differently on each run."""
    import numpy as np

    from assistant.embeddings import get_embedder
    from assistant.retrieve import dense_candidates

    store = open_store(corpus_settings)
    stored = store._coll.get(include=["embeddings"])
    matrix = np.asarray(stored["embeddings"], dtype="float32")
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    questions = [
        "Which paper proves the provenance of image generators by watermarking their outputs?",
        "How many parameters does it have?",
        "making worked arithmetic proofs more detailed by teaching a net to write them",
    ]
    for vector in get_embedder(corpus_settings).embed(questions):
        cosines = matrix @ vector
        order = np.argsort(-cosines)
        found = dense_candidates(store, vector, 40, None)
        # the exact 40 nearest, but for a near-tie at the 40th place (768-dim int8 vectors: 1e-4 apart)
        edge = float(cosines[order[39]])
        exact = {stored["ids"][i] for i in order[:40] if cosines[i] > edge + 1e-4}
        assert exact <= set(found) and min(cos for cos, _ in found.values()) >= edge - 1e-4


def test_a_store_built_with_approximate_search_is_upgraded_when_opened(tmp_path):
    from assistant.store import EF_SEARCH

    settings = make_settings(tmp_path / "store")
    old = open_store(settings)
    old.create("all-MiniLM-L6-v2", 384)
    old._coll.modify(configuration={"hnsw": {"ef_search": 100}})  # what Chroma created before this change
    assert old._coll.configuration_json["hnsw"]["ef_search"] == 100
    store = open_store(settings)
    assert store._coll.configuration_json["hnsw"]["ef_search"] == EF_SEARCH
    assert store._whole_coll.configuration_json["hnsw"]["ef_search"] == EF_SEARCH

from ingest.chunk import Block, Chunker


def test_chunks_never_span_pages_and_keep_their_section_title() -> None:
    blocks = [
        Block("Results", 1, is_title=True),
        Block("First finding on page one.", 1),
        Block("Second finding, still page one.", 1),
        Block("A finding on page two.", 2),
        Block("Methods", 2, is_title=True),
        Block("We measured things.", 2),
    ]
    chunks = list(Chunker(chunk_chars=500, overlap=0).chunks(blocks))
    assert [(c.page, c.section) for c in chunks] == [(1, "Results"), (2, "Results"), (2, "Methods")]
    assert "Second finding" in chunks[0].text
    assert chunks[1].embedding_text(None).startswith("Results\n")


def test_oversized_block_is_split_within_the_size_limit() -> None:
    text = " ".join(f"sentence number {i} about nothing in particular." for i in range(200))
    chunks = list(Chunker(chunk_chars=300, overlap=30).chunks([Block(text, 7)]))
    assert len(chunks) > 10
    assert all(len(c.text) <= 300 and c.page == 7 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert "sentence number 199" in joined and "sentence number 0 " in joined


def test_packs_small_blocks_up_to_the_size() -> None:
    blocks = [Block(f"line {i} " * 5, 1) for i in range(100)]
    chunks = list(Chunker(chunk_chars=400, overlap=0).chunks(blocks))
    assert all(len(c.text) <= 400 for c in chunks)
    assert len(chunks) < 20


def test_a_title_followed_by_a_long_block_is_context_not_a_chunk_of_its_own() -> None:
    long = "The abstract goes on. " * 100
    chunks = list(
        Chunker(chunk_chars=500, overlap=0).chunks([Block("Paper title", None, True), Block(long, None)])
    )
    assert all(c.text != "Paper title" for c in chunks)
    assert all(c.section == "Paper title" for c in chunks)
    assert chunks[0].embedding_text(None).startswith("Paper title\nThe abstract")

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


def test_tiny_sections_and_pages_are_packed_together_up_to_the_minimum() -> None:
    blocks = [
        Block("Item 1. Financial Statements", 1, is_title=True),
        Block("Net sales", 1, is_title=True),
        Block("Products 60,000 55,000", 1),
        Block("Services 20,000 19,000", 2),
        Block("Operating expenses", 2, is_title=True),
        Block("Research and development " * 8, 2),
        Block("Liquidity", 3, is_title=True),
        Block("Cash and marketable securities were ample. " * 8, 3),
    ]
    plain = list(Chunker(chunk_chars=400, overlap=0).chunks(blocks))
    packed = list(Chunker(chunk_chars=400, overlap=0, min_chars=200).chunks(blocks))
    assert len(plain) == 5 and min(len(c.text) for c in plain) < 30
    assert len(packed) == 2 and all(len(c.text) <= 400 for c in packed)
    first, second = packed
    # a chunk keeps the page and the section it starts in; the later titles stay in its text
    assert (first.page, first.section) == (1, "Item 1. Financial Statements")
    assert "Services 20,000" in first.text and "Research and development" in first.text
    assert (second.page, second.section) == (3, "Liquidity")
    assert second.text.startswith("Liquidity\nCash")
    joined = "\n".join(c.text for c in packed)
    assert all(b.text.strip() in joined for b in blocks)


def test_a_small_start_is_split_together_with_a_following_long_block() -> None:
    long = "The abstract goes on and on. " * 60
    blocks = [Block("Preface", 4, is_title=True), Block("A short note.", 4), Block(long, 5)]
    chunks = list(Chunker(chunk_chars=500, overlap=0, min_chars=100).chunks(blocks))
    assert chunks[0].text.startswith("Preface A short note. The abstract")
    assert all(c.page == 4 and c.section == "Preface" and len(c.text) <= 500 for c in chunks)

from enclave.chat.citations import CitationFilter, cited_indices, strip_invalid
from enclave.chat.rewrite import standalone_query


def test_markers_to_missing_sources_are_dropped() -> None:
    assert strip_invalid("Water [1] and blankets [7][2].", 3) == "Water [1] and blankets [2]."
    assert cited_indices("a [2] b [1] c [2] d [9]", 3) == [2, 1]


def test_streamed_markers_split_across_chunks_are_filtered() -> None:
    f = CitationFilter(2)
    pieces = ["Laptops were", " delivered [", "1", "] and [", "5] trucks [2", "]."]
    out = "".join(f.feed(p) for p in pieces) + f.flush()
    assert out == "Laptops were delivered [1] and  trucks [2]."


def test_follow_up_is_rewritten_with_the_earlier_question() -> None:
    history = [
        {"role": "user", "content": "What was Contoso's revenue in the first quarter?"},
        {"role": "assistant", "content": "It was $10M [1]."},
    ]
    q = standalone_query("and in the next quarter?", history)
    assert "Contoso" in q and "next quarter" in q
    assert standalone_query(
        "What does the Fabrikam annual report say about hiring plans?", history
    ).startswith("What does the Fabrikam")
    assert standalone_query("and in the next quarter?", []) == "and in the next quarter?"

from hypothesis import given
from hypothesis import strategies as st

from academy.integrations.llm import CitationFilter, cited_numbers, strip_invalid


def test_cited_numbers_in_order_of_first_appearance():
    assert cited_numbers("A [2]. B [1][3]. C [1, 2]. D [4;5]. Not [x] or [].") == [2, 1, 3, 4, 5]
    assert cited_numbers("no citations") == []


def test_strip_invalid_keeps_only_retrieved_passages():
    assert strip_invalid("RSI [1][7]. MACD [2, 9] and ATR [9].", {1, 2}) == "RSI [1]. MACD [2] and ATR."
    assert strip_invalid("Fine [1].", {1}) == "Fine [1]."
    assert strip_invalid("Array [0] index", set()) == "Array index"


@given(
    st.lists(st.sampled_from(["RSI ", "is ", "[", "1", "7", "]", ", ", "2", ". ", "[3]", " "]), max_size=30)
)
def test_the_stream_filter_equals_stripping_the_whole_text(pieces):
    stream = CitationFilter({1, 2})
    out = "".join(stream.feed(p) for p in pieces) + stream.flush()
    assert set(cited_numbers(out)) <= {1, 2}
    assert out.replace(" ", "") == strip_invalid("".join(pieces), {1, 2}).replace(" ", "")

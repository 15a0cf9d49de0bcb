import os
import subprocess
import sys

from enclave.index.sparse import SparseEncoder


def test_query_terms_are_stemmed_so_inflections_match_documents() -> None:
    enc = SparseEncoder()
    doc = enc.encode_document("Mutations in the BRCA1 gene increase cancer risks")
    query = enc.encode_query("brca1 mutation raises the risk of cancer")
    shared = set(doc.indices) & set(query.indices)
    # mutation/mutations, risk/risks, cancer, brca1 match; stop words carry nothing
    assert len(shared) == 4
    assert enc.encode_query("the of and").indices == []


def test_document_weights_saturate_with_term_frequency_and_shrink_with_length() -> None:
    enc = SparseEncoder()
    once = enc.encode_document("insulin")
    many = enc.encode_document("insulin " * 20)
    assert once.indices == many.indices
    assert many.values[0] > once.values[0]
    assert many.values[0] < enc.k1 + 1  # BM25 saturation bound
    long_doc = enc.encode_document("insulin " + "filler words here " * 100)
    idx = long_doc.indices.index(once.indices[0])
    assert long_doc.values[idx] < once.values[0]


def test_indices_are_stable_across_processes() -> None:
    # A worker and a gateway must map a term to the same index whatever their hash seed.
    code = "from enclave.index.sparse import SparseEncoder as S; print(S().encode_query('insulin').indices)"
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert seen == {str(SparseEncoder().encode_query("insulin").indices)}

"""`EnclaveRetriever` inside a LangChain chain against a running `enclave serve`, sync and async."""

from __future__ import annotations

import asyncio

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda

from enclave_client.langchain import EnclaveRetriever
from tests.ecosystem.conftest import QUESTION, TenantKeys


def _sources(docs: list[Document]) -> list[tuple[str, int | None]]:
    return [(d.metadata["filename"], d.metadata["page"]) for d in docs]


def test_the_retriever_feeds_a_chain_with_the_right_documents(tenant_a: TenantKeys) -> None:
    retriever = EnclaveRetriever(url=tenant_a.url, api_key=tenant_a.member_key, top_k=3)
    chain = retriever | RunnableLambda(_sources)
    assert chain.invoke(QUESTION)[0] == ("fake-memo.pdf", 1)

    docs = retriever.invoke(QUESTION)
    assert docs and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert top.metadata["document_id"] == tenant_a.memo_id and top.metadata["score"] > 0
    assert "water" in top.page_content.lower()


def test_the_retriever_works_async(tenant_a: TenantKeys) -> None:
    retriever = EnclaveRetriever(url=tenant_a.url, api_key=tenant_a.member_key, top_k=2)
    chain = retriever | RunnableLambda(_sources)
    assert asyncio.run(chain.ainvoke(QUESTION))[0] == ("fake-memo.pdf", 1)
    docs = asyncio.run(retriever.ainvoke(QUESTION))
    assert docs[0].metadata["document_id"] == tenant_a.memo_id and len(docs) <= 2


def test_the_retriever_sees_only_its_tenant(tenant_a: TenantKeys, tenant_b: TenantKeys) -> None:
    retriever = EnclaveRetriever(url=tenant_b.url, api_key=tenant_b.member_key)
    assert all(d.metadata["document_id"] != tenant_a.memo_id for d in retriever.invoke(QUESTION))

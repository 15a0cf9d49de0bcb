"""`EnclaveRetriever`: Enclave's search as a LangChain retriever, sync and async.

retriever = EnclaveRetriever(url="http://127.0.0.1:8000", api_key=key, top_k=4)
docs = retriever.invoke("What was Apple's revenue?")   # or: await retriever.ainvoke(...)
"""

from __future__ import annotations

import os

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field, SecretStr

from enclave_client.aio import AsyncEnclaveClient
from enclave_client.client import DEFAULT_URL, EnclaveClient
from enclave_client.models import Passage


def to_document(p: Passage) -> Document:
    meta = {
        "document_id": p.document_id,
        "filename": p.filename,
        "page": p.page,
        "score": p.score,
        "chunk": p.chunk,
        "collection": p.collection,
    }
    return Document(page_content=p.text, metadata=meta, id=f"{p.document_id}:{p.chunk}")


class EnclaveRetriever(BaseRetriever):
    """Passages from Enclave's hybrid search under the key's tenant and ACLs, as LangChain `Document`s
    with `document_id`, `filename`, `page` and `score` in their metadata."""

    url: str = Field(default_factory=lambda: os.environ.get("ENCLAVE_URL", DEFAULT_URL))
    api_key: SecretStr | None = Field(
        default_factory=lambda: SecretStr(k) if (k := os.environ.get("ENCLAVE_API_KEY")) else None
    )
    collection: str | None = None
    top_k: int = 5
    timeout: float = 60.0

    def _key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        with EnclaveClient(self.url, self._key(), timeout=self.timeout) as client:
            return [to_document(p) for p in client.search(query, self.collection, self.top_k)]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        # A client per call: an httpx.AsyncClient belongs to the event loop it was made in.
        async with AsyncEnclaveClient(self.url, self._key(), timeout=self.timeout) as client:
            return [to_document(p) for p in await client.search(query, self.collection, self.top_k)]

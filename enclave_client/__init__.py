"""A Python client for Enclave's REST API (sync and async) and a LangChain retriever
(`enclave_client.langchain.EnclaveRetriever`). It speaks HTTP only and imports nothing of the server."""

from enclave_client.aio import AsyncEnclaveClient
from enclave_client.client import DEFAULT_URL, EnclaveClient
from enclave_client.errors import APIError, ConnectionFailed, EnclaveClientError, NotReady
from enclave_client.models import Answer, Citation, Document, DocumentPage, Key, Passage, StreamEvent
from enclave_client.retry import RetryPolicy

__all__ = [
    "DEFAULT_URL",
    "APIError",
    "Answer",
    "AsyncEnclaveClient",
    "Citation",
    "ConnectionFailed",
    "Document",
    "DocumentPage",
    "EnclaveClient",
    "EnclaveClientError",
    "Key",
    "NotReady",
    "Passage",
    "RetryPolicy",
    "StreamEvent",
]

"""Enclave's embedding and ranking service: OpenAI `/v1/embeddings` and NIM `/v1/ranking` with batching."""

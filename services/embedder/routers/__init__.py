"""The embedder's HTTP routes, one module per capability; each takes its state through `StateDep`."""

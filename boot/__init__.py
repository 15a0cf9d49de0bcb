"""The programs: the `enclave` command and the one place a runtime is assembled. Imports every layer;
nothing imports it."""

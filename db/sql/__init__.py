"""The store's SQL, shared by every backend: one module per concern over a small connection contract."""

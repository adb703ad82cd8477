"""The per-file pipeline: pull -> decrypt -> validate -> acknowledge -> parse -> store -> archive."""

"""The people registry: commune -> villages (thôn) -> households -> persons."""

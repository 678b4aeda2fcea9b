"""The notebook-link domain: URL tokens, sessions, the URL template, signing keys, admission."""

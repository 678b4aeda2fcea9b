"""The `nbpresign` command line."""

"""The notebook side: redeem an AuthorizedUrl, then reverse-proxy HTTP and WebSockets to Jupyter."""

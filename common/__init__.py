"""What the client and the server share: defaults, errors, rich status, signing.

Nothing here imports nbpresign.server or aiohttp: the client imports only this.
"""

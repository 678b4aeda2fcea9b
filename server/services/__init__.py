"""The RPC implementations: presign, the registry, identities, gateway authentication."""

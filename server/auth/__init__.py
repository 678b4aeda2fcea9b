"""Authentication: SigV4 signatures on HTTP requests and on gRPC calls."""

"""The nbpresign service: the core, its gRPC server and the AWS JSON gateway."""

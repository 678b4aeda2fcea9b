"""The AWS JSON 1.1 gateway: X-Amz-Target routes onto the same RPCs the gRPC server offers."""

"""The API host: AWS JSON 1.1 and REST (google.api.http) onto the RPCs gRPC serves."""

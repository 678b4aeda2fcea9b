"""The transport-neutral API: the core's dispatch, validation, authorization and errors."""

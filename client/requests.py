"""Request messages for the clients' typed methods, shared by the sync and async client."""

from __future__ import annotations

from nbpresign.v1 import notebook_instances_pb2 as nb
from nbpresign.v1 import presign_pb2 as presign


def presign_request(
    name: str, session_seconds: int | None
) -> presign.CreatePresignedNotebookInstanceUrlRequest:
    request = presign.CreatePresignedNotebookInstanceUrlRequest(notebook_instance_name=name)
    if session_seconds is not None:
        request.session_expiration_duration_in_seconds = session_seconds
    return request


def list_request(
    *,
    max_results: int | None,
    next_token: str,
    sort_by: str,
    sort_order: str,
    name_contains: str,
    status_equals: str,
) -> nb.ListNotebookInstancesRequest:
    request = nb.ListNotebookInstancesRequest(
        next_token=next_token,
        sort_by=sort_by,
        sort_order=sort_order,
        name_contains=name_contains,
        status_equals=status_equals,
    )
    if max_results is not None:
        request.max_results = max_results
    return request

"""Every outbound call of the HTTP function against every fault it can meet.

The calls: thumbnails.create (on the redirect path), thumbnails.getPixels, the Cloud
Storage object look-up, the upload (the resumable session's start and its chunk), and
signBlob for a signed URL (all but the first on the store path). The faults: 429,
500 and 503 responses, a response slower than the 1 s read time-out, a reset
connection, a truncated body, and for getPixels an expired thumbnail id. Expiry is
the only fault that belongs to one call, because only a thumbnail id expires.

A fault that happens once is retried, because every one of these calls is safe to
repeat: creating a thumbnail mints another id, getPixels, the look-up and signBlob
change nothing, and an upload carries ifGenerationMatch=0. The request then succeeds
with a whole object. A fault that lasts gets the status and error code listed below,
within the deadline, leaves no partial object, and the same request succeeds once
the fault is gone, so nothing is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import pytest
import requests

from local.stack import RENDER_BUCKET
from tests.faults.conftest import FaultStack, render_request

EE_FAULTS = ("429", "500", "503", "slow", "reset", "truncate")
LASTING = 100
# The stand-in's fault names are its own, and the proxies call a slow response a stall.
PROXY_KIND = {"slow": "stall"}
# A guard against retries that ignore the deadline, not a speed check: a lasting
# fault ends in about 4 s here, and Cloud Storage's own default retries run 120 s.
HANG_GUARD_SECONDS = 60


@dataclass(frozen=True)
class Call:
    """One outbound call, how to fault it and what the function does when it fails."""

    name: str
    faults: tuple[str, ...]
    inject: Callable[[FaultStack, str, int], None]
    faults_seen: Callable[[FaultStack, str], int]
    changes: dict[str, Any]
    success: HTTPStatus
    # Status and error code of the response when each fault lasts, or None where the
    # request still succeeds.
    lasting: dict[str, tuple[HTTPStatus, str] | None]
    stores: bool = True

    def request(self) -> dict[str, Any]:
        return render_request(**self.changes)


def _ee_fault(method: str) -> Callable[[FaultStack, str, int], None]:
    def inject(stack: FaultStack, kind: str, count: int) -> None:
        stack.add_ee_fault(method, kind, count)

    return inject


def _ee_faults_seen(stack: FaultStack, kind: str) -> int:
    answer = requests.get(f"{stack.ee_url}/_standin/stats", timeout=10)
    return int(answer.json()["faults"].get(kind, 0))


def _storage_fault(
    method: str, path_prefix: str
) -> Callable[[FaultStack, str, int], None]:
    def inject(stack: FaultStack, kind: str, count: int) -> None:
        stack.storage.add_fault(
            PROXY_KIND.get(kind, kind),
            count=count,
            method=method,
            path_prefix=path_prefix,
        )

    return inject


def _signing_fault(stack: FaultStack, kind: str, count: int) -> None:
    stack.signing.add_fault(PROXY_KIND.get(kind, kind), count=count)


STORE = {"delivery": "store"}
EE_LASTING = {
    "429": (HTTPStatus.TOO_MANY_REQUESTS, "EE_BUSY"),
    "500": (HTTPStatus.BAD_GATEWAY, "EE_UPSTREAM_ERROR"),
    "503": (HTTPStatus.SERVICE_UNAVAILABLE, "EE_UNAVAILABLE"),
    "slow": (HTTPStatus.GATEWAY_TIMEOUT, "EE_TIMEOUT"),
    "reset": (HTTPStatus.SERVICE_UNAVAILABLE, "EE_UNAVAILABLE"),
}
STORAGE_LASTING: dict[str, tuple[HTTPStatus, str] | None] = dict.fromkeys(
    EE_FAULTS, (HTTPStatus.BAD_GATEWAY, "STORAGE_ERROR")
)
SIGNING_LASTING: dict[str, tuple[HTTPStatus, str] | None] = dict.fromkeys(
    EE_FAULTS, (HTTPStatus.BAD_GATEWAY, "SIGNING_FAILED")
)
# The proxy forwards a stalled or truncated chunk before failing its response, so the
# last chunk reaches Cloud Storage and the object is complete. The function finds it
# by its CRC32C and returns 201.
CHUNK_LASTING = {**STORAGE_LASTING, "slow": None, "truncate": None}

CALLS = [
    Call(
        "create",
        EE_FAULTS,
        _ee_fault("thumbnails.create"),
        _ee_faults_seen,
        {},
        HTTPStatus.FOUND,
        {
            **EE_LASTING,
            "truncate": (HTTPStatus.BAD_GATEWAY, "EE_UPSTREAM_ERROR"),
        },
        stores=False,
    ),
    Call(
        "getPixels",
        (*EE_FAULTS, "expired"),
        _ee_fault("thumbnails.getPixels"),
        _ee_faults_seen,
        STORE,
        HTTPStatus.CREATED,
        {
            **EE_LASTING,
            "truncate": (HTTPStatus.BAD_GATEWAY, "EE_INCOMPLETE_PIXELS"),
            "expired": (HTTPStatus.BAD_GATEWAY, "THUMBNAIL_EXPIRED"),
        },
    ),
    Call(
        "lookup",
        EE_FAULTS,
        _storage_fault("GET", f"/storage/v1/b/{RENDER_BUCKET}/o/"),
        lambda stack, kind: stack.storage.faults_applied(),
        STORE,
        HTTPStatus.CREATED,
        STORAGE_LASTING,
    ),
    Call(
        "upload-start",
        EE_FAULTS,
        _storage_fault("POST", "/upload/"),
        lambda stack, kind: stack.storage.faults_applied(),
        STORE,
        HTTPStatus.CREATED,
        STORAGE_LASTING,
    ),
    Call(
        "upload-chunk",
        EE_FAULTS,
        _storage_fault("PUT", "/upload/"),
        lambda stack, kind: stack.storage.faults_applied(),
        STORE,
        HTTPStatus.CREATED,
        CHUNK_LASTING,
    ),
    Call(
        "signBlob",
        EE_FAULTS,
        _signing_fault,
        lambda stack, kind: stack.signing.faults_applied(),
        {**STORE, "signedUrl": True},
        HTTPStatus.FOUND,
        SIGNING_LASTING,
    ),
]
CASES = [
    pytest.param(call, kind, id=f"{call.name}-{kind}")
    for call in CALLS
    for kind in call.faults
]


def _check_success(stack: FaultStack, call: Call, answer: Any, name: str) -> None:
    assert answer.status_code == call.success, answer.get_data(as_text=True)
    if call.stores:
        stack.assert_whole_image(name)
    if call.success == HTTPStatus.FOUND and call.stores:
        # A signed URL: it must fetch the stored image.
        pixels = requests.get(answer.headers["Location"], timeout=30)
        assert pixels.status_code == 200


@pytest.mark.parametrize(("call", "kind"), CASES)
def test_single_fault_retried(fault_stack: FaultStack, call: Call, kind: str) -> None:
    request = call.request()
    call.inject(fault_stack, kind, 1)

    answer = fault_stack.client.post("/", json=request)

    assert call.faults_seen(fault_stack, kind) == 1
    _check_success(fault_stack, call, answer, fault_stack.object_name(request))


@pytest.mark.timeout(HANG_GUARD_SECONDS)
@pytest.mark.parametrize(("call", "kind"), CASES)
def test_lasting_fault_answers_status(
    fault_stack: FaultStack, call: Call, kind: str
) -> None:
    request = call.request()
    name = fault_stack.object_name(request)
    call.inject(fault_stack, kind, LASTING)

    answer = fault_stack.client.post("/", json=request)

    expected = call.lasting[kind]
    if expected is None:
        _check_success(fault_stack, call, answer, name)
        return
    status, code = expected
    assert answer.status_code == status, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["code"] == code
    assert error["retryable"] is True
    assert call.faults_seen(fault_stack, kind) >= 2  # it was retried
    if call.name == "signBlob":
        # The image was stored before signing failed; it must be whole.
        fault_stack.assert_whole_image(name)
    elif call.stores:
        assert fault_stack.stored_object(name) is None

    fault_stack.clear_faults()
    again = fault_stack.client.post("/", json=request)
    _check_success(fault_stack, call, again, name)


def test_lasting_quota_fault_sends_retry_after(fault_stack: FaultStack) -> None:
    fault_stack.add_ee_fault("thumbnails.create", "429", LASTING)

    answer = fault_stack.client.post("/", json=render_request())

    assert answer.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(answer.headers["Retry-After"]) >= 1


def test_lasting_create_fault_attempts_bounded(fault_stack: FaultStack) -> None:
    fault_stack.add_ee_fault("thumbnails.create", "503", LASTING)

    fault_stack.client.post("/", json=render_request())

    # EE_MAX_ATTEMPTS is 3 in these tests.
    assert fault_stack.ee_requests("thumbnails.create") == 3


def test_lasting_pixel_fault_attempts_bounded(fault_stack: FaultStack) -> None:
    fault_stack.add_ee_fault("thumbnails.getPixels", "503", LASTING)

    fault_stack.client.post("/", json=render_request(**STORE))

    # At most 3 whole renders of at most 3 downloads each, within the deadline.
    assert fault_stack.ee_requests("thumbnails.create") <= 3
    assert fault_stack.ee_requests("thumbnails.getPixels") <= 9

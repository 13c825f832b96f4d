"""AceData's error shape (providers.md §1.6): an HTTP status with `{"error": {"code", "message"}}`."""

from __future__ import annotations


class AceDataApiError(Exception):
    def __init__(self, http_status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code
        self.message = message


def bad_request(message: str) -> AceDataApiError:
    return AceDataApiError(400, "bad_request", message)

"""A small client for the checkpoint API, used by `countersign audit verify
--url` and `countersign witness` on an organisation's own machine: they need
only the API's address and a token, no database or Temporal."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from countersign.domain.checkpoint import SignedCheckpoint, load_public_key


class ApiError(Exception):
    """The API could not be reached or refused the call; the message says which and why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status of a refusal; None when there was no answer


class LogClient:
    def __init__(self, url: str, token: str, timeout: float = 30) -> None:
        self.base = url.rstrip("/") + "/api/v1/checkpoints"
        self.token = token
        self.timeout = timeout

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Any:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/json",
            **({"Content-Type": "application/json"} if data else {})})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail")
            except (ValueError, AttributeError):
                detail = exc.reason
            raise ApiError(f"{method} {url}: {exc.code} {detail}", exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ApiError(f"{method} {url}: {exc}") from None

    def latest(self) -> SignedCheckpoint:
        return SignedCheckpoint.from_json(self._call("GET", "/latest"))

    def public_key(self):
        return load_public_key(self._call("GET", "/key")["public_key"])

    def consistency(self, old_size: int, new_size: int) -> list[bytes]:
        if old_size == new_size:
            return []
        answer = self._call("GET", "/proof/consistency", {"from": old_size, "to": new_size})
        return [bytes.fromhex(h) for h in answer["proof"]]

    def inclusion(self, leaf: bytes, size: int) -> tuple[int, list[bytes]] | None:
        try:
            answer = self._call("GET", "/proof/inclusion", {"hash": leaf.hex(), "size": size})
        except ApiError as exc:
            if exc.status == 404:  # no such leaf in the tree
                return None
            raise
        return answer["index"], [bytes.fromhex(h) for h in answer["proof"]]

    def witness_keys(self) -> list[dict[str, Any]]:
        return self._call("GET", "/witnesses")

    def register_witness(self, public_key_pem: str) -> dict[str, Any]:
        return self._call("POST", "/witnesses", body={"public_key": public_key_pem})

    def revoke_witness(self, key_id: str, reason: str) -> dict[str, Any]:
        return self._call("POST", f"/witnesses/{urllib.parse.quote(key_id, safe='')}/revoke", body={"reason": reason})

    def cosign(self, size: int, key_id: str, signature: str) -> dict[str, Any]:
        return self._call("POST", f"/{size}/cosignatures", body={"key_id": key_id, "signature": signature})

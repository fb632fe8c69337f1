"""The E2B control-plane API (api.e2b.app): create, connect, extend and kill sandboxes.

Routes and JSON field names are the ones the SDK's generated client uses
(e2b/api/client/api/sandboxes/*.py); errors are `{"code", "message"}` bodies
with the status codes the SDK maps to its exceptions.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from executors.e2b.emulator.sandboxes import Sandbox
from executors.e2b.emulator.state import Cloud

#: envd version reported for every sandbox (features the SDK enables depend on it)
ENVD_VERSION = "0.6.4"
DEFAULT_TIMEOUT = 300


def error(status: int, message: str) -> Response:
    """An API error body as E2B sends it."""
    return Response(json.dumps({"code": status, "message": message}), status, content_type="application/json")


def _sandbox_json(sandbox: Sandbox) -> dict[str, Any]:
    return {"templateID": sandbox.template, "sandboxID": sandbox.id, "clientID": "local",
            "envdVersion": ENVD_VERSION, "envdAccessToken": sandbox.token}


def _detail_json(sandbox: Sandbox) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {**_sandbox_json(sandbox), "startedAt": now.isoformat(),
            "endAt": (now + timedelta(seconds=sandbox.timeout)).isoformat(), "cpuCount": 2, "memoryMB": 512,
            "diskSizeMB": 1024, "state": "running", "metadata": sandbox.metadata,
            "allowInternetAccess": sandbox.internet}


def _create(cloud: Cloud, body: dict[str, Any]) -> Response:
    template = body.get("templateID", "")
    if template not in cloud.templates:
        return error(404, f"template '{template}' not found")
    sandbox = Sandbox(template=template, timeout=float(body.get("timeout", DEFAULT_TIMEOUT)),
                      metadata=dict(body.get("metadata") or {}), envs=dict(body.get("envVars") or {}),
                      internet=bool(body.get("allow_internet_access", True)))
    cloud.add(sandbox)
    return Response(json.dumps(_sandbox_json(sandbox)), 201, content_type="application/json")


def handle(cloud: Cloud, request: Request) -> Response:
    """Serve one control-plane request."""
    if request.headers.get("X-API-KEY") != cloud.api_key:
        return error(401, "Invalid API key, please visit https://e2b.dev/docs/api-key")
    fault = cloud.take_fault(request.method, request.path)
    if fault is not None:
        return error(fault.status, fault.message)
    body = request.get_json(silent=True) or {}
    if request.method == "POST" and request.path == "/v2/sandboxes":
        return _create(cloud, body)
    match = re.fullmatch(r"(/v2)?/sandboxes/([^/]+)(/connect|/timeout)?", request.path)
    if match is None:
        return error(404, f"no route {request.method} {request.path}")
    sandbox = cloud.get(match.group(2))
    if sandbox is None:
        return error(404, f"sandbox {match.group(2)} not found")
    action = (request.method, match.group(3))
    if action == ("POST", "/connect"):
        sandbox.extend(float(body.get("timeout", sandbox.timeout)))
        return Response(json.dumps(_sandbox_json(sandbox)), 200, content_type="application/json")
    if action == ("POST", "/timeout"):
        sandbox.extend(float(body["timeout"]))
        return Response(status=204)
    if action == ("DELETE", None):
        cloud.remove(sandbox.id)
        return Response(status=204)
    if action == ("GET", None):
        return Response(json.dumps(_detail_json(sandbox)), 200, content_type="application/json")
    return error(404, f"no route {request.method} {request.path}")

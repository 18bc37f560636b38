"""The OpenAPI 3 document of the mock server."""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document served at ``/openapi.json``."""
    return {"openapi": "3.1.0", "info": {"title": "heygen mock server", "version": "0.1.0"}}

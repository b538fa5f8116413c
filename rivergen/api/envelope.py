"""The two body shapes of contract v1. Nothing else builds them."""

from typing import Any

from rest_framework.response import Response


def success_response(data: Any, message: str, status: int = 200) -> Response:
    return Response({"success": True, "data": data, "message": message}, status=status)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "details": details}, "message": message}

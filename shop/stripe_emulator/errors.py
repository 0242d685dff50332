"""Stripe-shaped API errors raised by the emulator and rendered by the API blueprint."""

from __future__ import annotations

from typing import Any


class StripeError(Exception):
    """An API error: HTTP status plus Stripe's ``{"error": {...}}`` fields."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.decline_code = decline_code

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        """The JSON body Stripe would send."""
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://docs.stripe.com/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        if self.decline_code:
            error["decline_code"] = self.decline_code
        if request_id:
            error["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        return {"error": error}


def missing(kind: str, obj_id: str, param: str = "id") -> StripeError:
    """404 resource_missing for an unknown id."""
    return StripeError(404, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param)


def required(param: str) -> StripeError:
    """400 parameter_missing."""
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def invalid(param: str, message: str, code: str = "parameter_invalid") -> StripeError:
    """400 for a parameter with a bad value."""
    return StripeError(400, message, code=code, param=param)

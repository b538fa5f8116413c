"""The one application error class.

Services raise these (or Django's ValidationError); the API's exception handler turns
them into the error envelope, and the admin shows their message.
"""

from typing import Any


class ApplicationError(Exception):
    status_code = 400
    code = "VALIDATION_ERROR"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class NotFoundError(ApplicationError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "Not found."


class ConflictError(ApplicationError):
    status_code = 409
    code = "CONFLICT"
    default_message = "The request conflicts with an existing resource."

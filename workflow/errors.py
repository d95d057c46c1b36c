"""Errors a user may see. Each carries a message in Danish that can be shown as is."""


class UserError(Exception):
    """Something the user asked for cannot be done; nothing was written."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(UserError):
    pass


class InvalidInput(UserError):
    pass


class TransitionRefused(UserError):
    """The workflow does not allow this action now; the message says why."""


class Conflict(UserError):
    """Someone else changed the case since it was read; nothing was written."""

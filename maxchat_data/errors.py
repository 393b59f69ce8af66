"""Errors a user can be told about. The writer thread treats them as
"this action was refused" (nothing was written), not as a failed batch."""


class MaxchatError(Exception):
    """Base class: the message is shown to the user as is."""


class ValidationError(MaxchatError):
    """Bad input: a bad email, an empty note, a file that is too large."""


class NotFound(MaxchatError):
    """An unknown id: chat, contact, label, agent, template."""


class NotAllowed(MaxchatError):
    """The rules forbid it: a closed 24-hour window, a blocked contact,
    an inactive agent, a template that is not accepted."""

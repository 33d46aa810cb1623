"""posessl's user-facing errors: each message is one line naming the file
or object and the problem, and the tools print it without a traceback.

This module imports nothing of posessl, so every layer can raise them.
"""

__all__ = [
    'PosesslError', 'DataError', 'BopCsvError', 'InferenceError',
    'CheckpointError', 'TrainingStopped', 'WorkDirLocked', 'LauncherError',
    'UserError'
]


class PosesslError(Exception):
    """Base of posessl's own errors: the message is the whole story."""


class DataError(PosesslError, ValueError):
    """A dataset file is missing, unreadable or inconsistent (the message
    starts with its path)."""


class BopCsvError(PosesslError, ValueError):
    """A BOP results CSV (or a row meant for one) is malformed (the message
    starts with the file's path, and the line number when reading)."""


class InferenceError(PosesslError, ValueError):
    """A bad inference input or setting."""


class CheckpointError(PosesslError, RuntimeError):
    """A checkpoint file is missing, unreadable, unsafe, or a URL."""


class TrainingStopped(PosesslError, RuntimeError):
    """Training was stopped on purpose (a non-finite loss, Ctrl-C): at which
    iteration, why, and which checkpoint holds the work so far."""


class WorkDirLocked(PosesslError, RuntimeError):
    """The work dir is held by another run (named in the message)."""


class LauncherError(PosesslError):
    """A mistake on the ``posessl`` command line."""


class UserError(PosesslError):
    """A mistake in a tool's command line or config."""

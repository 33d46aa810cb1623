"""Why a training run stopped before its end, for the tools to report."""


class TrainingStopped(RuntimeError):
    """Training was stopped on purpose (a non-finite loss, Ctrl-C).

    The message is one line that says at which iteration, why, and which
    checkpoint holds the work so far.
    """

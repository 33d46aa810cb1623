"""One training run per work dir at a time: :class:`WorkDirLock`."""
import atexit
import json
import os
import os.path as osp
import socket
import sys
import time
import uuid
from typing import Optional

from posessl.errors import WorkDirLocked

__all__ = ['WorkDirLock', 'LOCK_NAME']

#: the lock's file name inside the work dir
LOCK_NAME = '.posessl.lock'


def _process_start(pid: int) -> Optional[int]:
    """When ``pid`` started (clock ticks since boot, from ``/proc``); None
    where that cannot be read (no such process, not Linux)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            stat = f.read()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: count after its ')'
    fields = stat[stat.rindex(')') + 2:].split()
    return int(fields[19])  # field 22 of the whole line


def _alive(owner: dict) -> bool:
    """Whether the run that wrote ``owner`` may still be running. A lock of
    another host cannot be checked, so it counts as alive."""
    if owner.get('host') != socket.gethostname():
        return True
    pid = owner.get('pid')
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    started = owner.get('pid_start')
    now = _process_start(pid)
    return started is None or now is None or now == started


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _parse(text: str) -> dict:
    """The owner record; ``{}`` for a file that is not one."""
    try:
        owner = json.loads(text)
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


class WorkDirLock:
    """Hold a work dir for one run: ``with WorkDirLock(work_dir): ...``.

    The lock is ``<work_dir>/.posessl.lock``, a JSON record of the run (pid,
    host, start, command) created atomically. A lock whose process is gone
    (same host, and no such process or a later one with its id) is stale and
    taken over; a lock of another host always counts as live. It is removed
    on leaving the ``with`` block or at exit.

    Args:
        work_dir: The folder (it must exist).
        command: What the lock says the run is (default: this process's
            command line).

    Raises:
        WorkDirLocked: on entering, when a live run holds the folder; the
            message names it and the lock file.
    """

    def __init__(self, work_dir: str, command: Optional[str] = None) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self.command = command if command is not None else ' '.join(
            [osp.basename(sys.executable)] + sys.argv)
        self._token = uuid.uuid4().hex
        self._pid: Optional[int] = None

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def _record(self) -> str:
        pid = os.getpid()
        return json.dumps(dict(
            pid=pid, host=socket.gethostname(),
            pid_start=_process_start(pid),
            started=time.strftime('%Y-%m-%d %H:%M:%S'),
            command=self.command, token=self._token))

    def acquire(self) -> None:
        """Take the lock, breaking a stale one; raises as entering does."""
        tmp = f'{self.path}.{self._token}.tmp'
        with open(tmp, 'w') as f:
            f.write(self._record())
        try:
            for _ in range(3):  # another run may break or take it meanwhile
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    text = _read(self.path)
                    if text is None:
                        continue  # released meanwhile
                    owner = _parse(text)
                    if owner and _alive(owner):
                        raise WorkDirLocked(self._held_by(owner)) from None
                    self._break_stale(text)
                    continue
                self._pid = os.getpid()
                atexit.register(self.release)
                return
            raise WorkDirLocked(self._held_by(_parse(_read(self.path) or '')))
        finally:
            os.remove(tmp)

    def _break_stale(self, text: str) -> None:
        """Remove the stale lock ``text`` unless another run replaced it
        meanwhile (then it is put back)."""
        aside = f'{self.path}.{self._token}.stale'
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return  # another run broke it first
        if _read(aside) != text:  # a live lock taken meanwhile
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
        os.remove(aside)

    def _held_by(self, owner: dict) -> str:
        who = (f"pid {owner.get('pid')} on {owner.get('host')}, started "
               f"{owner.get('started')}: {owner.get('command')}") \
            if owner else 'a run whose lock cannot be read'
        return (f'work dir {self.work_dir!r} is in use by another run ({who})'
                '; two runs in one work dir overwrite each other\'s '
                'checkpoints. Wait for it to end or give another --work-dir '
                f'(if that run is gone, delete {self.path})')

    def release(self) -> None:
        """Remove the lock if this process holds it (idempotent)."""
        if self._pid != os.getpid():  # not held, or a forked child
            return
        self._pid = None
        atexit.unregister(self.release)
        text = _read(self.path)
        if text is not None and _parse(text).get('token') == self._token:
            os.remove(self.path)

"""Atomic writes (:func:`atomic_write`, the one writer of every file the app keeps:
checkpoints, the unpacked data's record and files, the encoding cache, the classifier,
the replicas' state), their temporary files, and removing those that killed writers left.

A writer creates ``.<target name>.<pid>.<random>.tmp`` next to its target (through
:func:`temporary_file`) and renames it over the target when done. A process killed
mid-write leaves that file behind; :func:`reap_stale_temporaries` removes it once its
writer is gone, and never touches a write in progress.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable

#: A temporary file is removed once its writer is gone, or after this many seconds
#: (files written before the pid was part of the name; no write takes that long).
STALE_TEMPORARY_SECONDS = 600

_TEMPORARY = re.compile(r"\.(?P<target>.+?)\.(?:(?P<pid>\d+)\.)?[A-Za-z0-9_]+\.tmp")


def temporary_file(target: Path) -> tuple[int, str]:
    """``mkstemp`` next to ``target``, named ``.<name>.<pid>.<random>.tmp``: (fd, path)."""
    return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")


def atomic_write(target: Path | str, content: bytes | Callable[[BinaryIO], None], *, exclusive: bool = False,
                 durable: bool = False, mode: int | None = None) -> Path:
    """Write ``target`` whole or not at all: into a temporary file next to it
    (:func:`temporary_file`, so :func:`reap_stale_temporaries` finds what a killed writer
    leaves), then renamed over it. Readers see the old file or the new one, never a part.

    Args:
        target: the file to write; its folder must exist.
        content: the bytes, or a function that writes them to a binary file object.
        exclusive: never replace an existing ``target`` (hard link, atomic).
        durable: ``fsync`` the data before the rename (survives a power cut).
        mode: the file's permissions, e.g. ``0o644`` for files meant to be shared (None:
            ``mkstemp``'s private 0600).

    Returns:
        ``target`` as a Path.

    Raises:
        FileExistsError: ``exclusive`` and ``target`` exists (nothing is written).
        OSError: the folder cannot be written, or the write failed; anything ``content``
            raises. The temporary file is removed in every case.
    """
    target = Path(target)
    fd, tmp = temporary_file(target)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        if exclusive:
            os.link(tmp, target)  # FileExistsError if another writer got there first
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def reap_stale_temporaries(folder: Path | str, max_age: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Remove temporary files that killed writers left in ``folder``.

    A ``.<name>.<pid>.<random>.tmp`` file is removed when the process ``pid`` no longer
    exists, or when it is older than ``max_age`` seconds. A write in progress (writer
    alive, file recent) is never touched; only regular files are considered.

    Returns:
        The paths removed.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if not match:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                continue
            pid = match.group("pid")
            writer_gone = pid is not None and int(pid) != os.getpid() and not _pid_alive(int(pid))
            if writer_gone or now - info.st_mtime > max_age:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except (OSError, ValueError):
            continue  # removed by another reaper meanwhile, or not ours to remove
    return removed


def check_writable(target: Path | str) -> None:
    """Refuse, before any long work, an output path that a later write could not create.

    Probes the way the atomic writers write: creates ``target``'s folder (as they do),
    then creates and removes a temporary file next to it (:func:`temporary_file`). So
    a read-only folder, a path under /proc, a file where a folder should be, or an
    existing folder at ``target`` is found now, not after training.

    Raises:
        ValueError: ``target`` cannot be written; the message says why, in one line.
    """
    target = Path(target)
    if target.is_dir():
        raise ValueError(f"cannot write {target}: it is a folder; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = temporary_file(target)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"cannot write {target}: {reason} ({exc.filename or target.parent})") from None

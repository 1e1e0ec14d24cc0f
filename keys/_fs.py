"""Private files for secrets: 0700 directories, 0600 files, atomic writes that survive a crash.

A write goes to a temporary file in the same directory, is fsynced, then renamed (or hard-linked,
when the target must not exist yet) into place, and the directory is fsynced so the rename itself
is durable. A crash at any point leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from .errors import DuplicateKeyError, InsecurePermissionsError

DIR_MODE = 0o700
FILE_MODE = 0o600
TEMP_PREFIX = ".tmp-"


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) if missing, with mode 0700; refuse an existing insecure one."""
    if not path.exists():
        path.mkdir(parents=True, mode=DIR_MODE)
        os.chmod(path, DIR_MODE)  # mkdir's mode is filtered by the umask
    check_private_dir(path)


def check_private_dir(path: Path) -> None:
    """Refuse a directory that is not ours or that group/other can read, write or traverse."""
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise InsecurePermissionsError(f"{path} is not a directory")
    if st.st_uid != os.getuid():
        raise InsecurePermissionsError(f"{path} is owned by uid {st.st_uid}, not by the current user")
    if st.st_mode & 0o077:
        raise InsecurePermissionsError(
            f"{path} has mode {stat.S_IMODE(st.st_mode):04o}; other users could read or replace keys. "
            f"Fix it with: chmod 700 {path}"
        )


def check_private_file(path: Path) -> None:
    """Refuse a key file that is a symlink, not ours, or accessible by group/other."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
        raise InsecurePermissionsError(f"{path} is not a regular file (symlinks are refused)")
    if st.st_uid != os.getuid():
        raise InsecurePermissionsError(f"{path} is owned by uid {st.st_uid}, not by the current user")
    if st.st_mode & 0o077:
        raise InsecurePermissionsError(
            f"{path} has mode {stat.S_IMODE(st.st_mode):04o}; other users could read it. Fix it with: chmod 600 {path}"
        )


def fsync_dir(path: Path) -> None:
    """Make a rename, link or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(directory: Path, data: bytes) -> Path:
    tmp = directory / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    os.close(fd)
    return tmp


def write_new_file(path: Path, data: bytes) -> None:
    """Atomically create `path` with mode 0600; fail with `DuplicateKeyError` if it already exists.

    The hard link is what makes "create only if absent" atomic: two concurrent creators cannot
    both succeed, and an existing file is never touched.
    """
    tmp = _write_temp(path.parent, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise DuplicateKeyError(f"{path.name} already exists in {path.parent}; nothing was written") from None
    finally:
        os.unlink(tmp)
    fsync_dir(path.parent)


def replace_file(path: Path, data: bytes) -> None:
    """Atomically replace (or create) `path` with mode 0600 contents."""
    tmp = _write_temp(path.parent, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def remove_file(path: Path) -> None:
    """Unlink `path` and make the removal durable."""
    os.unlink(path)
    fsync_dir(path.parent)

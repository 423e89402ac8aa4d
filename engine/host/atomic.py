"""Outputs that appear complete or not at all: the one atomic writer of
descriptions, disk images, COW files and their records.

An `AtomicFile` is an unnamed file (O_TMPFILE) in the target's directory:
written, fsynced, then linked into place (linkat) and the directory fsynced.
Until then it has no name, so nothing is left behind whatever happens to
the process, SIGKILL included: the kernel frees it with the last descriptor.
Where the filesystem or kernel has no O_TMPFILE (or /proc is missing, which
external tools need to reach it), it is a named hidden file in the target's
directory (or in a scratch directory the caller owns and cleans), renamed
into place and removed on failure.

    AtomicFile(target, *, replace=False, mode=0o644, follow_symlinks=False,
               scratch=None)
        .fd      the open descriptor (read and write)
        .path    a path that opens the same file, for external tools
        .commit()
    write_bytes(target, data, ...)  a small output in one call

Variants, as keyword arguments:
- `replace=False` refuses an existing target (FileExistsError), when opening
  and again at the link, so a target that appears meanwhile is not replaced;
  `replace=True` replaces it (linked to a hidden name, then renamed over it).
- `mode=None` keeps the permissions of the file it replaces (0666 less the
  umask for a new one); otherwise `mode` less the umask.
- `follow_symlinks=True`: a symlink at the target is followed and the file
  it points to is replaced (a description); otherwise the link itself is.

Errors are OSErrors (FileExistsError, IsADirectoryError, FileNotFoundError
for a missing directory ...) with the target as filename: the callers word
them (a DescriptionError, a CowError, a build's one line).
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from types import TracebackType

StrPath = str | os.PathLike[str]

# errnos with which open(O_TMPFILE) says "not here": fall back to a named file
_NO_TMPFILE = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT)


def umask() -> int:
    """The process's umask (read without changing it for long)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(directory: StrPath) -> None:
    """Make a rename or link in `directory` durable (best effort: some
    filesystems refuse to fsync a directory)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _hidden_name(target: str) -> str:
    return f".{os.path.basename(target)}.{secrets.token_hex(4)}.partial"


class AtomicFile:
    """A new file that appears at `target` complete, or not at all (see the
    module docstring)."""

    def __init__(self, target: StrPath, *, replace: bool = False, mode: int | None = 0o644,
                 follow_symlinks: bool = False, scratch: StrPath | None = None) -> None:
        given = os.fspath(target)
        self.target = os.path.realpath(given) if follow_symlinks else os.path.abspath(given)
        self.replace = replace
        self.mode = mode
        self.scratch = None if scratch is None else os.fspath(scratch)
        self.fd = -1
        self.path = ""
        self._named = ""  # the fallback's temporary name ("" while unnamed)
        self._dir_fd = -1

    @property
    def directory(self) -> str:
        return os.path.dirname(self.target)

    def open(self) -> AtomicFile:
        """Create the temporary file; refuse a target that is a directory,
        or that exists when not replacing."""
        if os.path.isdir(self.target):
            raise IsADirectoryError(errno.EISDIR, "is a directory", self.target)
        if not self.replace and os.path.lexists(self.target):
            raise FileExistsError(errno.EEXIST, "already exists", self.target)
        mode = self._mode()
        self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self.fd = os.open(".", os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, mode,
                              dir_fd=self._dir_fd)
            self.path = f"/proc/{os.getpid()}/fd/{self.fd}"
            if not os.path.exists(self.path):  # no /proc: tools could not reach it
                os.close(self.fd)
                self.fd = -1
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE:
                self.close()
                raise
            self.fd = -1
        if self.fd < 0:
            self._named = os.path.join(self.scratch or self.directory, _hidden_name(self.target))
            try:
                self.fd = os.open(self._named, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                                  mode)
            except OSError:
                self._named = ""
                self.close()
                raise
            self.path = self._named
        os.fchmod(self.fd, mode)
        return self

    def _mode(self) -> int:
        if self.mode is not None:
            return self.mode & ~umask()
        try:
            return stat.S_IMODE(os.stat(self.target).st_mode)
        except FileNotFoundError:
            return 0o666 & ~umask()

    def reopen(self) -> None:
        """Take up the file again after an external tool wrote it by path
        (a named temporary file may have been replaced by a new one)."""
        if self._named:
            fd = os.open(self._named, os.O_RDWR | os.O_CLOEXEC)
            os.close(self.fd)
            self.fd = fd

    def commit(self) -> None:
        """fsync the data, give the file its name, fsync the directory."""
        os.fsync(self.fd)
        name = os.path.basename(self.target)
        if self._named:
            if self.replace:
                os.replace(self._named, self.target)
            else:  # link, then unlink: an existing target is never replaced
                os.link(self._named, self.target)
                os.unlink(self._named)
            self._named = ""
        elif self.replace:
            hidden = os.path.join(self.scratch or self.directory, _hidden_name(self.target))
            self._link(hidden)
            try:
                os.replace(hidden, self.target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(hidden)
                raise
        else:
            self._link(name)
        fsync_dir(self.directory)
        self.close()

    def _link(self, name: str) -> None:
        # linkat(AT_SYMLINK_FOLLOW) through /proc: what open(2) documents for
        # O_TMPFILE; os.link does that when given a directory descriptor
        os.link(f"/proc/self/fd/{self.fd}", name, src_dir_fd=self._dir_fd,
                dst_dir_fd=self._dir_fd, follow_symlinks=True)

    def close(self) -> None:
        """Give up: the unnamed file vanishes, a named one is removed."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self._named:
            with contextlib.suppress(OSError):
                os.unlink(self._named)
            self._named = ""
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    def __enter__(self) -> AtomicFile:
        return self.open()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def write_bytes(target: StrPath, data: bytes, *, replace: bool = True, mode: int | None = None,
                follow_symlinks: bool = True) -> None:
    """Write `data` to `target` atomically (by default as a description is
    saved: replacing it, keeping its permissions, through a symlink)."""
    with AtomicFile(target, replace=replace, mode=mode, follow_symlinks=follow_symlinks) as out:
        view = memoryview(data)
        while view:
            view = view[os.write(out.fd, view):]
        out.commit()

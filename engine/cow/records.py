"""The records that name a backing file: the COW files sharing it, and a
current record whose digests a rebase can reuse instead of hashing again."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from engine.cow import sidecar
from engine.cow.files import file_size, same_file
from engine.errors import CowError
from engine.host.atomic import StrPath


def _records(backing: str, dirs: Iterable[str]) -> Iterator[tuple[str, sidecar.Sidecar]]:
    """(COW, its sidecar) for every sidecar in dirs that names this backing
    file (by dev and inode, or by path) and whose COW still exists."""
    try:
        bst = os.stat(backing)
    except OSError:
        return
    for d in sorted(set(dirs)):
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for name in names:
            if not name.endswith(sidecar.SUFFIX):
                continue
            cow = os.path.join(d, name[: -len(sidecar.SUFFIX)])
            if not os.path.exists(cow):
                continue
            try:
                sc = sidecar.load(cow)
            except CowError:
                continue
            if sc is not None and ((sc.dev, sc.ino) == (bst.st_dev, bst.st_ino)
                                   or same_file(sc.path, backing)):
                yield cow, sc


def known_cows(backing: str, exclude: StrPath | None = None) -> list[str]:
    """COW files with a sidecar naming this backing file, found in the
    backing file's directory and the excluded COW's directory."""
    dirs = [os.path.dirname(os.path.abspath(backing))]
    if exclude is not None:
        dirs.append(os.path.dirname(os.path.abspath(os.fspath(exclude))))
    return [cow for cow, _ in _records(backing, dirs)
            if exclude is None or not same_file(cow, exclude)]


def current_record(backing: str, fd: int, dirs: Iterable[str]) -> sidecar.Sidecar | None:
    """A record of the open backing file that is still current by the fast
    path (size, mtime_ns, ctime_ns, dev, inode unchanged): its digests can
    be reused instead of hashing the file again."""
    st = os.fstat(fd)
    now = (file_size(fd), st.st_mtime_ns, st.st_ctime_ns, st.st_dev, st.st_ino)
    for _, sc in _records(backing, dirs):
        if (sc.size, sc.mtime_ns, sc.ctime_ns, sc.dev, sc.ino) == now and sc.leaves is not None:
            return sc
    return None

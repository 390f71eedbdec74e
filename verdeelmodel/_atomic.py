"""Atomic writes: a reader never sees a half-written output, a run never leaves a mix of two runs,
and a failed or killed run leaves nothing behind (or, when killed, nothing the next start does not
clean up).

An output folder is written whole into a hidden sibling (``.NAME.vm-tmp-PID-XXXX``) and then swapped
in with one rename: on Linux ``renameat2(RENAME_EXCHANGE)`` exchanges the two folders atomically, so
``NAME`` is at every moment either the previous run or the new one; elsewhere the previous folder is
first renamed aside (``.NAME.vm-old-PID-XXXX``) and the next start puts it back if the process died
between the two renames. Temporary folders of processes that no longer run are removed at the next
start; those of a running process are left alone (two runs into one folder: the last swap wins, each
whole).

verdeelmodel replaces only folders it wrote itself: an output folder carries the marker file
``.verdeelmodel`` (or, from earlier versions, a ``manifest.json`` of a run). A non-empty folder
without it is refused before any work (:func:`check_target`), so a mistyped ``--out`` never deletes a
user's files.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from verdeelmodel.errors import UsageError

#: the marker file of a folder verdeelmodel wrote (and may therefore replace whole)
MARK = ".verdeelmodel"
_TMP, _OLD = "vm-tmp", "vm-old"
_STALE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>vm-tmp|vm-old)-(?P<pid>\d+)-[^/]*$")


def owned(folder: Path) -> bool:
    """Whether ``folder`` is an output folder verdeelmodel wrote (and may replace whole)."""
    if (folder / MARK).is_file():
        return True
    man = folder / "manifest.json"  # output folders of versions before the marker
    if man.is_file() and man.stat().st_size < 10_000_000:
        try:
            m = json.loads(man.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False
        return isinstance(m, dict) and {"command", "input_sha256", "versions"} <= set(m)
    return False


def check_target(target: str | Path, option: str = "--out", replace: bool = True) -> Path:
    """Refuse (:class:`UsageError`, exit 2) an output folder that cannot be written, before any work:
    a file, a folder below a file, a folder without write permission, or a non-empty folder
    verdeelmodel did not write (``replace``) or any non-empty folder (not ``replace``: an instance
    folder, which may hold a user's edits)."""
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UsageError(
            f"{option} {target}: is a file, not a folder; give a folder for the results",
            f"{option} {target}: is een bestand, geen map; geef een map voor de resultaten",
        )
    _check_parent(target, option)
    if target.is_dir() and any(p.name != MARK for p in target.iterdir()):
        if not replace:
            raise UsageError(
                f"{option} {target}: the folder exists and is not empty; give a new folder (verdeelmodel does not write over an instance)",
                f"{option} {target}: de map bestaat en is niet leeg; geef een nieuwe map (verdeelmodel schrijft niet over een instantie heen)",
            )
        if not owned(target):
            raise UsageError(
                f"{option} {target}: the folder holds files verdeelmodel did not write; give a new or empty folder (nothing was changed)",
                f"{option} {target}: de map bevat bestanden die verdeelmodel niet schreef; geef een nieuwe of lege map (er is niets veranderd)",
            )
        if not os.access(target, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {target}: no permission to write in it", f"{option} {target}: geen schrijfrechten in de map")
    return target


def check_file_target(target: str | Path, option: str) -> Path:
    """Refuse a new output file that cannot be written (its folder is a file or not writable)."""
    target = Path(target)
    _check_parent(target, option)
    return target


def _check_parent(target: Path, option: str) -> None:
    """The nearest existing folder above ``target`` is a folder, and writable."""
    anc = target.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise UsageError(
            f"{option} {target}: {anc} is a file, so nothing can be written below it",
            f"{option} {target}: {anc} is een bestand, dus daaronder kan niets geschreven worden",
        )
    if not os.access(anc, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {target}: no permission to write in {anc}", f"{option} {target}: geen schrijfrechten in {anc}")


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(target: Path) -> None:
    """Remove the temporary folders and files of killed runs into ``target``; put back the previous
    output folder if a run died between the two renames of a swap."""
    parent = target.parent
    if not parent.is_dir():
        return
    for entry in sorted(parent.iterdir()):
        m = _STALE.match(entry.name)
        if not m or m["name"] != target.name or _alive(int(m["pid"])):
            continue
        if m["kind"] == _OLD and not target.exists():
            try:
                os.rename(entry, target)  # the previous run, whole: back where it was
                continue
            except OSError:
                pass
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False  # kernel or file system without it
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(tmp: Path, target: Path) -> None:
    """Make ``tmp`` the folder ``target``; afterwards ``tmp`` holds the previous folder (or nothing)."""
    if not target.exists():
        try:
            os.rename(tmp, target)
            return
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise  # else: another run made it meanwhile; swap with that one
    if _exchange(tmp, target):
        return
    old = target.parent / f".{target.name}.{_OLD}-{os.getpid()}-{secrets.token_hex(4)}"
    os.rename(target, old)  # killed here: the next start puts the previous folder back
    os.rename(tmp, target)
    os.rename(old, tmp)  # removed by the caller


@contextmanager
def atomic_dir(target: str | Path, replace: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary folder beside ``target``; on success it becomes ``target`` whole, in
    one rename (the previous folder, if any, is removed after the swap); on failure nothing changes.

    ``replace``: ``target`` may be an earlier output folder of verdeelmodel (results); without it,
    ``target`` must be new or empty (an instance folder). Checked again here, as at the start."""
    target = Path(target)
    check_target(target, replace=replace)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    tmp = None
    try:
        with _signals_deferred():  # made and named in one step: a Ctrl-C or SIGTERM lands before or after, never between
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{_TMP}-{os.getpid()}-", dir=target.parent))
            os.chmod(tmp, 0o777 & ~_umask())  # a results folder as any other the user makes (mkdtemp: 0700)
        yield tmp
        if replace:  # an output folder: the next run may replace it (an instance folder: never)
            (tmp / MARK).write_text(
                "written by verdeelmodel: the next run into this folder replaces it whole\n"
                "geschreven door verdeelmodel: een volgende run naar deze map vervangt haar helemaal\n",
                encoding="utf-8",
            )
        with _signals_deferred():
            _swap_in(tmp, target)
    finally:
        if tmp is not None:
            with _signals_deferred():
                shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM for the few steps that must not be cut in two (make the temporary
    folder and register its clean-up; swap; clean up): they arrive right after."""
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    tmp_path = None
    try:
        with _signals_deferred():
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{_TMP}-{os.getpid()}-", suffix=".tmp", dir=target.parent)
            os.close(fd)
            tmp_path = Path(tmp)
            os.chmod(tmp_path, 0o666 & ~_umask())  # a file as any other the user makes (mkstemp: 0600)
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path is not None:
            with _signals_deferred():
                tmp_path.unlink(missing_ok=True)

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
from pathlib import Path

from verdeelmodel.errors import UsageError
from verdeelmodel.instance.problems import shown

#: the marker file of a folder verdeelmodel wrote (and may therefore replace whole)
MARK = ".verdeelmodel"
#: files a file browser leaves in any folder it shows: not a user's work
OS_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_TMP, _OLD = "vm-tmp", "vm-old"
_STALE = re.compile(r"^\.(?P<name>.+)\.(?P<kind>vm-tmp|vm-old)-(?P<pid>\d+)-[^/]*$")


def _written(folder: Path) -> set[str] | None:
    """The files the last run wrote into ``folder``, as its marker lists them; None without one."""
    mark = folder / MARK
    if not mark.is_file() or mark.stat().st_size > 1_000_000:
        return None
    lines = mark.read_text(encoding="utf-8", errors="replace").splitlines()
    return {line[2:] for line in lines if line.startswith("- ")}


def _legacy_run(folder: Path) -> bool:
    """An output folder of a version before the marker: a run's manifest.json."""
    man = folder / "manifest.json"
    if not man.is_file() or man.stat().st_size > 10_000_000:
        return False
    try:
        m = json.loads(man.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(m, dict) and {"command", "input_sha256", "versions"} <= set(m)


def foreign_files(folder: Path) -> list[str]:
    """The files in an existing folder that verdeelmodel did not write there (all of them when it
    is not an output folder): a run never replaces a folder holding any."""
    names = sorted(p.name for p in folder.iterdir() if p.name != MARK and p.name not in OS_FILES)
    written = _written(folder)
    if written is not None:
        return [n for n in names if n not in written]
    if _legacy_run(folder):
        from verdeelmodel.reports import output_files

        known = output_files()
        return [n for n in names if n not in known and not (n.startswith("rapport-") and n.endswith((".html", ".pdf")))]
    return names


def owned(folder: Path) -> bool:
    """Whether ``folder`` is an output folder verdeelmodel wrote, holding nothing else (and so may
    be replaced whole)."""
    return (_written(folder) is not None or _legacy_run(folder)) and not foreign_files(folder)


def check_target(target: str | Path, option: str = "--out", replace: bool = True) -> Path:
    """Refuse (:class:`UsageError`, exit 2) an output folder that cannot be written, before any work:
    a file, a folder below a file, a folder without write permission, or a non-empty folder
    verdeelmodel did not write (``replace``) or any non-empty folder (not ``replace``: an instance
    folder, which may hold a user's edits)."""
    target = Path(target)
    _check_name_lengths(target, option)
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
        foreign = foreign_files(target)
        if foreign:
            some = ", ".join(shown(n) for n in foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            sommige = ", ".join(shown(n) for n in foreign[:5]) + (f" en nog {len(foreign) - 5}" if len(foreign) > 5 else "")
            raise UsageError(
                f"{option} {target}: the folder holds files verdeelmodel did not write ({some}); move them, or give a new or empty "
                "folder (nothing was changed)",
                f"{option} {target}: de map bevat bestanden die verdeelmodel niet schreef ({sommige}); verplaats ze, of geef een nieuwe "
                "of lege map (er is niets veranderd)",
            )
        if not os.access(target, os.W_OK | os.X_OK):
            raise UsageError(f"{option} {target}: no permission to write in it", f"{option} {target}: geen schrijfrechten in de map")
    return target


def check_file_target(target: str | Path, option: str) -> Path:
    """Refuse a new output file that cannot be written (its folder is a file or not writable)."""
    target = Path(target)
    _check_parent(target, option)
    return target


def _check_name_lengths(target: Path, option: str) -> None:
    longest = max((len(os.fsencode(part)) for part in target.parts), default=0)
    if longest > 255 - 40:  # the file system's limit, less room for the hidden temporary name beside it
        raise UsageError(
            f"{option} {shown(str(target))[:120]}...: a folder or file name of at most 215 bytes (this one has {longest})",
            f"{option} {shown(str(target))[:120]}...: een map- of bestandsnaam van hoogstens 215 bytes (deze heeft er {longest})",
        )


def _check_parent(target: Path, option: str) -> None:
    """Every name in ``target`` fits the file system, and the nearest existing folder above it is a
    folder, and writable."""
    _check_name_lengths(target, option)
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


#: how deep in steps that must not be cut in two the program is, and a stop asked for meanwhile
_CRITICAL = [0]
_PENDING: list[int | None] = [None]


def on_stop_signal(signum, frame) -> None:
    """The handler of Ctrl-C and SIGTERM the command line installs: stop as Ctrl-C does (through
    every ``finally``), but not inside a step that must not be cut in two -- then right after it.
    (Blocking the signal per thread is not enough: any other thread, e.g. a solver's, may take it.)"""
    if _CRITICAL[0]:
        _PENDING[0] = signum
        return
    raise KeyboardInterrupt


class _Deferred:
    """A step that must not be cut in two (make the temporary folder and note it for clean-up;
    swap; clean up): a stop signal arriving meanwhile is raised right after it."""

    def __enter__(self) -> None:
        _CRITICAL[0] += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        _CRITICAL[0] -= 1
        if _CRITICAL[0] == 0 and _PENDING[0] is not None:
            _PENDING[0] = None
            if exc_type is None:
                raise KeyboardInterrupt
        return False


def _remove(path: Path | None) -> None:
    """Remove a temporary folder or file, even when Ctrl-C or SIGTERM arrives meanwhile (then it is
    raised once the path is gone)."""
    interrupted = None
    while path is not None:
        try:
            with _Deferred():
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
            break
        except KeyboardInterrupt as e:
            interrupted = e
    if interrupted is not None:
        raise interrupted


class _Atomic:
    """A temporary path beside ``target`` that becomes ``target`` on success (``_commit``) and is
    removed on failure, Ctrl-C or SIGTERM. Subclasses make the path (``_make``) and commit it. A
    class rather than a generator context manager: a signal landing inside contextlib's own
    ``__exit__`` would leave a generator suspended, its clean-up waiting for a garbage collection
    that a process at exit need not do (the SIGTERM test found that)."""

    def __init__(self, target: str | Path):
        self.target, self.tmp = Path(target), None

    def _check(self) -> None:
        pass

    def _make(self) -> Path:
        """Make the temporary path and note it in ``self.tmp`` at once (then it is removed whatever
        fails after)."""
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Path:
        self._check()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        clean_stale(self.target)
        try:
            with _Deferred():  # made and noted in one step
                self.tmp = self._make()
        except BaseException:
            _remove(self.tmp)
            raise
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                self._commit()
        finally:
            _remove(self.tmp)  # the new path on failure; after a swap, the previous folder
        return False

    def _prefix(self) -> str:
        return f".{self.target.name}.{_TMP}-{os.getpid()}-"


class atomic_dir(_Atomic):
    """``with atomic_dir(target) as tmp:`` -- a fresh temporary folder beside ``target``; on success
    it becomes ``target`` whole, in one rename (the previous folder is removed after the swap); on
    failure, Ctrl-C or SIGTERM nothing changes and the temporary folder is removed.

    ``replace``: ``target`` may be an earlier output folder of verdeelmodel (results); without it,
    ``target`` must be new or empty (an instance folder). Checked again here, as at the start."""

    def __init__(self, target: str | Path, replace: bool = True):
        super().__init__(target)
        self.replace = replace

    def _check(self) -> None:
        check_target(self.target, replace=self.replace)

    def _make(self) -> Path:
        self.tmp = Path(tempfile.mkdtemp(prefix=self._prefix(), dir=self.target.parent))  # noted before anything can fail
        os.chmod(self.tmp, 0o777 & ~_umask())  # a results folder as any other the user makes (mkdtemp: 0700)
        return self.tmp

    def _commit(self) -> None:
        tmp = self.tmp
        if self.replace:  # an output folder: the next run may replace it (an instance folder: never)
            files = "".join(f"- {p.name}\n" for p in sorted(tmp.iterdir()))
            (tmp / MARK).write_text(
                "written by verdeelmodel: the next run into this folder replaces it whole, unless it holds other files\n"
                "geschreven door verdeelmodel: een volgende run vervangt deze map helemaal, tenzij er andere bestanden in staan\n"
                f"files:\n{files}",
                encoding="utf-8",
            )
        with _Deferred():
            _swap_in(tmp, self.target)


class atomic_path(_Atomic):
    """``with atomic_path(target) as tmp:`` -- a temporary path beside ``target``, renamed onto it on
    success; removed on failure, Ctrl-C or SIGTERM (as :class:`atomic_dir`)."""

    def _make(self) -> Path:
        fd, tmp = tempfile.mkstemp(prefix=self._prefix(), suffix=".tmp", dir=self.target.parent)
        self.tmp = Path(tmp)  # noted before anything can fail
        os.close(fd)
        os.chmod(self.tmp, 0o666 & ~_umask())  # a file as any other the user makes (mkstemp: 0600)
        return self.tmp

    def _commit(self) -> None:
        with _Deferred():
            os.replace(self.tmp, self.target)

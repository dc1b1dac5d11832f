"""Trained weights cached on disk, shared by the demo and the experiments.

A network is trained once and saved (:func:`refsnn.networks.io.save`) under a name that
hashes everything that determines its weights, the training data included
(:func:`array_digest`), so a change of settings or data trains afresh and never loads
stale weights: ``<name>-seed<seed>-<12 hex digits>.npz`` in :func:`cache_dir`.

The cache is derived data: it may make a run faster, never make it fail. An entry that
does not load is reported in one line, trained again and replaced; a folder at an
entry's path is reported and left alone; a cache folder that cannot be written is
reported once (:func:`check_cache`) and the run goes on without saving.
"""

import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ..networks import io

__all__ = ["array_digest", "cache_dir", "cache_path", "check_cache", "shown", "trained"]

#: The temporary file of an interrupted :func:`refsnn._files.atomic_write` of an entry:
#: ``.<entry>.npz.<8 hex digits>.tmp`` beside it.
_TEMPORARY = re.compile(r"\..+\.npz\.[0-9a-f]{8}\.tmp")
#: A temporary file older than this (by its modification time) was left by a killed
#: run, not by one still writing it.
STALE_SECONDS = 30 * 60


def cache_dir():
    """Where trained weights are cached: $REFSNN_CACHE_DIR, else $XDG_CACHE_HOME/refsnn,
    else ~/.cache/refsnn."""
    if os.environ.get("REFSNN_CACHE_DIR"):
        return Path(os.environ["REFSNN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "refsnn"


def array_digest(*arrays):
    """The SHA-256 (hex) of the arrays' dtypes, shapes and bytes in C order: the same
    for equal arrays, different when one value, the dtype, the shape or the order of the
    arrays differ. Part of a cache key, for the training data."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return digest.hexdigest()


def cache_path(name, seed, key):
    """``cache_dir() / "<name>-seed<seed>-<hash>.npz"``, where the hash is the first 12
    hex digits of the SHA-256 of ``key`` (a dict of everything that determines the
    weights) written as JSON with sorted keys."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / f"{name}-seed{seed}-{digest}.npz"


def shown(path):
    """``path`` for printing, with the home directory written as ~."""
    try:
        return "~/" + str(Path(path).relative_to(Path.home()))
    except ValueError:
        return str(path)


def check_cache(log=print):
    """Whether new entries can be saved in :func:`cache_dir` (created if missing); if
    not, log one warning line naming the folder and why, and return False.

    Programs call it at their start, so that the warning comes before the training.
    """
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        reason = "a file is in its place" if directory.is_file() else _reason(exc)
        log(f"warning: the cache folder {shown(directory)} cannot be written ({reason}); "
            "going on without caching trained weights")
        return False
    return True


def _reason(exc):
    """An OSError's reason without the path it names (the message names it already)."""
    return exc.strerror or str(exc)


def _remove_stale_temporaries(directory):
    """Remove the temporary files that killed writes left in ``directory`` (see
    ``_TEMPORARY`` and ``STALE_SECONDS``); a younger one may be another run's, still
    being written."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        path = os.path.join(directory, name)
        try:
            if _TEMPORARY.fullmatch(name) and time.time() - os.stat(path).st_mtime > STALE_SECONDS:
                os.remove(path)
        except OSError:  # gone already, or not ours to remove
            pass


def trained(path, train, retrain=False, log=print, loaded="loaded from the cache", saved=None, cache=True):
    """The network cached at ``path``, or else ``train()``'s network, saved there.

    Parameters
    ----------
    path : pathlib.Path
        The cache file (:func:`cache_path`); its folder is created when needed.
    train : callable
        Builds, trains and returns the network; it logs its own progress.
    retrain : bool, default False
        Train even if ``path`` exists (and overwrite it).
    log : callable, default print
    loaded : str
        The line logged, followed by ``": <path>"``, when the network is loaded.
    saved : str, optional
        The line logged, followed by ``": <path>"``, when a trained network is saved.
    cache : bool, default True
        Save a trained network at ``path``; False when :func:`check_cache` found the
        folder unwritable (an existing entry is still loaded).

    Notes
    -----
    Nothing here stops a run: an entry that does not load (truncated, empty, corrupted)
    is reported in one ``warning:`` line, trained again and replaced; a folder at
    ``path`` is reported and kept, and the network is not cached; a save that fails (a
    full disk) is reported and the trained network returned. Temporary files of
    killed writes are removed from the folder once they are stale.
    """
    _remove_stale_temporaries(path.parent)
    if path.is_dir():
        log(f"warning: {shown(path)} is a folder, not a cache file; training without caching it")
        return train()
    if path.exists() and not retrain:
        try:
            net = io.load(path)
        except (OSError, ValueError) as exc:
            reason = str(exc).removeprefix(f"{path}: ")
            log(f"warning: the cached weights {shown(path)} do not load ({reason}); training again")
        else:
            log(f"{loaded}: {shown(path)}")
            return net
    net = train()
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            io.save(net, path)
        except OSError as exc:
            log(f"warning: cannot save the trained weights to {shown(path)} ({_reason(exc)}); "
                "going on without caching them")
        else:
            if saved is not None:
                log(f"{saved}: {shown(path)}")
    return net

"""Trained weights cached on disk, shared by the demo and the experiments.

A network is trained once and saved (:func:`refsnn.networks.io.save`) under a name that
hashes everything that determines its weights, so a change of settings trains afresh
and never loads stale weights: ``<name>-seed<seed>-<12 hex digits>.npz`` in
:func:`cache_dir`.
"""

import hashlib
import json
import os
from pathlib import Path

from ..networks import io

__all__ = ["cache_dir", "cache_path", "shown", "trained"]


def cache_dir():
    """Where trained weights are cached: $REFSNN_CACHE_DIR, else $XDG_CACHE_HOME/refsnn,
    else ~/.cache/refsnn."""
    if os.environ.get("REFSNN_CACHE_DIR"):
        return Path(os.environ["REFSNN_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "refsnn"


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


def trained(path, train, retrain=False, log=print, loaded="loaded from the cache"):
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
    """
    if path.exists() and not retrain:
        log(f"{loaded}: {shown(path)}")
        return io.load(path)
    net = train()
    path.parent.mkdir(parents=True, exist_ok=True)
    io.save(net, path)
    return net

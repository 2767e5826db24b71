"""The result of every network simulation, and its HDF5 file format.

A :class:`Trajectory` is a set of named arrays with their time axes, the parameters that
produced them, the seed and a format version. Names follow one convention for all simulators:

===============================  =========================================================
``rate/t``                       left edges of the rate bins (ms), width ``meta["rate_dt"]``
``rate/<Q>``                     spikes of population Q per rate bin
``spikes/t``, ``spikes/i``       spike times (ms) and global neuron ids (optional)
``samples/t``                    sample times (ms), every ``meta["record_dt"]``
``samples/<name>``               any sampled quantity, first axis the sample index, e.g.
                                 ``samples/hist/E`` (T, n_bins) voltage histogram,
                                 ``samples/refractory/E`` (T,), ``samples/kick_mean/EI``
``bins/<Q>``                     voltage bin edges used for ``samples/hist/<Q>``
``coarse``                       (T, N) int16 coarse state of every neuron at every sample
``events/t, /i, /from, /to``     coarse-state transitions (event-driven simulator only)
===============================  =========================================================

Population Q's global neuron ids are ``offsets[Q] ... offsets[Q] + sizes[Q] - 1``.

Files are written atomically (a temporary file renamed into place), carry
``format = "snnreduce-trajectory"`` and ``format_version``, and loading anything else raises
:class:`TrajectoryFileError`. :class:`TrajectoryWriter` streams long runs to disk so that memory
does not grow with ``t_end``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .activity import PopulationActivity
from .validation import ParameterError

__all__ = [
    "Trajectory",
    "TrajectoryWriter",
    "TrajectoryFileError",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "DEFAULT_T_BURN",
]

FORMAT_NAME = "snnreduce-trajectory"
FORMAT_VERSION = 1
DEFAULT_T_BURN = 200.0  # ms, design.md "rates_hz"


class TrajectoryFileError(OSError):
    """A trajectory file that is missing, damaged, foreign, or of an unknown version."""


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


class Trajectory:
    """Arrays recorded from one simulation run, with provenance.

    Parameters
    ----------
    model : str
        Registry name of the simulator (``"markov-if"``, ``"cond-lif"``, ...).
    params : dict
        Every parameter of the network (JSON-serialisable values).
    seed : int or None
        Root seed of the run.
    populations : list of str
        Population names in id order.
    sizes : dict[str, int]
        Neurons per population.
    t_end : float
        Simulated time, ms.
    arrays : dict[str, ndarray]
        Recorded arrays named as in the module docstring.
    meta : dict, optional
        Further scalars (``rate_dt``, ``record_dt``, ``method``, ``dt``, timings, ...).
    t_burn : float
        Start of the window for :attr:`rates_hz`, ms (default 200).

    Examples
    --------
    >>> import simulate
    >>> traj = simulate.MarkovIFNetwork().run(t_end=500.0, seed=0)   # doctest: +SKIP
    >>> traj.rates_hz                                                # doctest: +SKIP
    {'E': 30.1, 'I': 52.3}
    """

    def __init__(self, model, params, seed, populations, sizes, t_end, arrays, meta=None,
                 t_burn=DEFAULT_T_BURN):
        self.model = str(model)
        self.params = dict(params)
        self.seed = None if seed is None else int(seed)
        self.populations = list(populations)
        self.sizes = {q: int(sizes[q]) for q in self.populations}
        self.t_end = float(t_end)
        self.arrays = dict(arrays)
        self.meta = dict(meta or {})
        self.t_burn = float(t_burn)
        self.format_version = FORMAT_VERSION

    # ------------------------------------------------------------------ derived views
    @property
    def offsets(self) -> dict:
        """First global neuron id of each population."""
        out, k = {}, 0
        for q in self.populations:
            out[q] = k
            k += self.sizes[q]
        return out

    @property
    def n_neurons(self) -> int:
        return int(sum(self.sizes.values()))

    def __contains__(self, name: str) -> bool:
        return name in self.arrays

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return np.asarray(self.arrays[name])
        except KeyError:
            raise KeyError(
                f"this trajectory has no array {name!r}; it has: {', '.join(sorted(self.arrays))}"
            ) from None

    def activity(self) -> PopulationActivity:
        """Population spike counts per rate bin, for :mod:`simulate.observables`."""
        if "rate/t" not in self.arrays:
            raise KeyError("this trajectory recorded no population rates ('rate/t')")
        spikes = None
        if "spikes/t" in self.arrays:
            spikes = (self["spikes/t"], self["spikes/i"], self.offsets)
        return PopulationActivity(
            self["rate/t"], float(self.meta["rate_dt"]),
            {q: self[f"rate/{q}"] for q in self.populations if f"rate/{q}" in self.arrays},
            dict(self.sizes), spikes,
        )

    @property
    def rates_hz(self) -> dict:
        """Mean rate per population over [t_burn, t_end], Hz per neuron.

        With two excitatory assemblies ``E1``, ``E2`` the key ``"E"`` gives all excitatory
        neurons together.
        """
        act = self.activity()
        t_burn = self.t_burn if self.t_burn < self.t_end else 0.0
        rates = act.mean_rates_hz(t_burn, self.t_end)
        exc = [q for q in self.populations if q.startswith("E") and q != "E"]
        if exc and "E" not in rates:
            tot = sum(rates[q] * self.sizes[q] for q in exc)
            rates["E"] = tot / sum(self.sizes[q] for q in exc)
        return rates

    def summary(self) -> dict:
        """A JSON-ready summary: model, seed, t_end, t_burn, rates_hz and meta."""
        return {
            "model": self.model,
            "seed": self.seed,
            "t_end": self.t_end,
            "t_burn": self.t_burn if self.t_burn < self.t_end else 0.0,
            "sizes": self.sizes,
            "rates_hz": self.rates_hz,
            "params": self.params,
            "meta": {k: v for k, v in self.meta.items() if np.isscalar(v)},
        }

    # ------------------------------------------------------------------ files
    def _attrs(self) -> dict:
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model": self.model,
            "params": json.dumps(self.params, default=_json_default),
            "seed": -1 if self.seed is None else self.seed,
            "populations": json.dumps(self.populations),
            "sizes": json.dumps(self.sizes),
            "t_end": self.t_end,
            "t_burn": self.t_burn,
            "meta": json.dumps(self.meta, default=_json_default),
        }

    def save(self, path) -> Path:
        """Write the trajectory to an HDF5 file atomically and return the path."""
        with TrajectoryWriter(path, self._attrs()) as w:
            for name, arr in self.arrays.items():
                w.write(name, np.asarray(arr))
        return Path(path)

    @classmethod
    def load(cls, path) -> Trajectory:
        """Read a trajectory written by :meth:`save` or :class:`TrajectoryWriter`.

        Raises
        ------
        TrajectoryFileError
            If the file is missing, not HDF5, damaged, not a trajectory, or of a newer format.
        """
        import h5py

        path = Path(path)
        if not path.exists():
            raise TrajectoryFileError(f"no trajectory file at {str(path)!r}")
        try:
            with h5py.File(path, "r") as f:
                attrs = dict(f.attrs)
                if attrs.get("format") != FORMAT_NAME:
                    raise TrajectoryFileError(
                        f"{str(path)!r} is not a snnreduce trajectory (format attribute "
                        f"{attrs.get('format')!r})"
                    )
                version = int(attrs.get("format_version", -1))
                if version > FORMAT_VERSION or version < 1:
                    raise TrajectoryFileError(
                        f"{str(path)!r} has trajectory format version {version}; this "
                        f"snnreduce reads versions 1..{FORMAT_VERSION}"
                    )
                arrays = {}

                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        arrays[name] = obj[()]

                f.visititems(visit)
        except TrajectoryFileError:
            raise
        except (OSError, KeyError, ValueError) as exc:
            raise TrajectoryFileError(
                f"{str(path)!r} could not be read as a trajectory ({exc})"
            ) from exc
        try:
            seed = int(attrs["seed"])
            traj = cls(
                attrs["model"], json.loads(attrs["params"]), None if seed < 0 else seed,
                json.loads(attrs["populations"]), json.loads(attrs["sizes"]),
                float(attrs["t_end"]), arrays, json.loads(attrs["meta"]),
                float(attrs["t_burn"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise TrajectoryFileError(
                f"{str(path)!r} is a damaged trajectory: missing or bad attribute ({exc})"
            ) from exc
        traj.format_version = version
        return traj

    def __repr__(self) -> str:
        return (
            f"Trajectory(model={self.model!r}, sizes={self.sizes}, t_end={self.t_end:g} ms, "
            f"seed={self.seed}, arrays={sorted(self.arrays)})"
        )


class TrajectoryWriter:
    """Stream arrays into an HDF5 trajectory file, atomically.

    Data goes to a temporary file in the target folder; :meth:`close` (or leaving the ``with``
    block without an exception) renames it into place. On an exception the temporary file is
    removed, so a failed run never leaves a half-written file.

    Parameters
    ----------
    path : str or Path
        Final file name.
    attrs : dict
        File attributes (see :meth:`Trajectory._attrs`); may be completed later by
        :meth:`set_attrs` before closing.

    Examples
    --------
    >>> with TrajectoryWriter("run.h5", attrs) as w:         # doctest: +SKIP
    ...     for chunk in chunks:
    ...         w.append("samples/t", chunk_t)
    """

    def __init__(self, path, attrs: dict | None = None):
        import h5py

        self.path = Path(path)
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if not parent.exists():
            raise ParameterError(f"out = {str(path)!r}: folder {str(parent)!r} does not exist")
        if not os.access(parent, os.W_OK):
            raise ParameterError(f"out = {str(path)!r}: folder {str(parent)!r} is not writable")
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=parent)
        os.close(fd)
        self._tmp = Path(tmp)
        self._file = h5py.File(self._tmp, "w")
        self._attrs = dict(attrs or {})

    def set_attrs(self, **attrs) -> None:
        """Add or replace file attributes (parameters, seed, ...); written with the file on
        :meth:`close`."""
        self._attrs.update(attrs)

    def write(self, name: str, array: np.ndarray) -> None:
        """Write a whole array at once (compressed when large)."""
        array = np.asarray(array)
        kw = {"compression": "gzip", "compression_opts": 1} if array.size > 4096 else {}
        self._file.create_dataset(name, data=array, **kw)

    def append(self, name: str, chunk: np.ndarray) -> None:
        """Append ``chunk`` along the first axis of dataset ``name`` (created on first use)."""
        chunk = np.asarray(chunk)
        if chunk.ndim == 0:
            chunk = chunk.reshape(1)
        if name not in self._file:
            rows = max(1, min(65536, (1 << 20) // max(1, chunk[0].nbytes if len(chunk) else 8)))
            self._file.create_dataset(
                name, data=chunk, maxshape=(None,) + chunk.shape[1:],
                chunks=(rows,) + chunk.shape[1:],
            )
            return
        ds = self._file[name]
        n = ds.shape[0]
        ds.resize(n + chunk.shape[0], axis=0)
        ds[n:] = chunk

    def close(self) -> Path:
        """Write the attributes, close, and move the file into place."""
        for k, v in self._attrs.items():
            self._file.attrs[k] = v
        self._file.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Discard everything written so far."""
        try:
            self._file.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False

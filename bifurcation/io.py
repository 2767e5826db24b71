"""Saving and loading branches (``Branch``, ``CycleBranch``) as HDF5 files.

Layout (format ``"snnreduce.branch"``, version :data:`FORMAT_VERSION`)::

    /                       attrs: format, format_version, class, kind, param (JSON), status,
                                   message, counts (JSON), settings (JSON), system_name,
                                   system_params (JSON), state_names (JSON)
    /system_pickle          uint8 bytes of pickle.dumps(system) (absent if not picklable)
    /states, /stable, /eigenvalues
    /params/<name>, /outputs/<name>, /data/<name>
    /special_points/<i>     attrs kind, index, params (JSON), scalars (JSON); datasets x and
                            array-valued data entries (complex allowed)
    /endpoints              attr JSON list of {reason, index, params, message}, dataset x
    /cycle/...              periods, multipliers, state_min, state_max, amplitude,
                            orbits/<i>/t, orbits/<i>/x  (CycleBranch only)

Files are written atomically (temporary file, then rename). Loading checks the format tag and
version and raises :class:`BranchFileError` with a clear message for a damaged or foreign
file. The system is restored from its pickle when possible (systems pickle their parameters
and rebuild compiled functions on load); otherwise a placeholder :class:`ODESystem` with the
same parameters and state names is attached, whose ``rhs`` raises — enough for plotting and
inspection, and ``branch.data["system_restored"]`` says which happened.

Examples
--------
>>> save_branch(br, "branch.h5")        # doctest: +SKIP
>>> br2 = load_branch("branch.h5")      # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile

import numpy as np

from .branch import Branch, CycleBranch, Endpoint, SpecialPoint
from .system import ODESystem

__all__ = ["save_branch", "load_branch", "BranchFileError", "FORMAT", "FORMAT_VERSION"]

FORMAT = "snnreduce.branch"
FORMAT_VERSION = 1


class BranchFileError(ValueError):
    """A file that is not a branch file of a supported version, or is damaged."""


def _jsonable(o):
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.ndarray):
        return _jsonable(o.tolist())
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None if np.isnan(o) else ("inf" if o > 0 else "-inf")
    if isinstance(o, complex):
        return [o.real, o.imag]
    return o


def _json(o):
    return json.dumps(_jsonable(o))


def _split_data(d):
    """Split a data dict into JSON-able scalars and array-valued entries."""
    scal, arrs = {}, {}
    for k, v in d.items():
        if v is None or isinstance(v, (bool, int, float, str, np.bool_)) or (
                isinstance(v, np.generic) and np.ndim(v) == 0):
            if isinstance(v, (complex, np.complexfloating)):
                arrs[k] = np.asarray(v)
            else:
                scal[k] = v.item() if isinstance(v, np.generic) else v
        elif isinstance(v, complex):
            arrs[k] = np.asarray(v)
        else:
            try:
                a = np.asarray(v)
                if a.dtype == object:
                    scal[k] = repr(v)
                else:
                    arrs[k] = a
            except (TypeError, ValueError):
                scal[k] = repr(v)
    return scal, arrs


def save_branch(branch: Branch, path) -> str:
    """Write ``branch`` to the HDF5 file ``path`` (atomically). Returns the path."""
    import h5py

    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".h5.tmp", dir=d)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            a = f.attrs
            a["format"] = FORMAT
            a["format_version"] = FORMAT_VERSION
            a["class"] = type(branch).__name__
            a["kind"] = branch.kind
            a["param"] = _json(branch.param)
            a["status"] = branch.status
            a["message"] = branch.message
            a["counts"] = _json(branch.counts)
            a["settings"] = _json(branch.settings)
            sysm = branch.system
            a["system_name"] = getattr(sysm, "name", "system")
            a["system_params"] = _json(getattr(sysm, "params", {}))
            a["state_names"] = _json(getattr(sysm, "state_names", []))
            a["output_names"] = _json(list(getattr(sysm, "outputs", {})))
            try:
                blob = pickle.dumps(sysm)
                f.create_dataset("system_pickle", data=np.frombuffer(blob, dtype=np.uint8))
            except Exception as exc:  # noqa: BLE001 - any pickling failure means "not stored"
                a["system_pickle_error"] = f"{type(exc).__name__}: {exc}"
            f.create_dataset("states", data=branch.states)
            f.create_dataset("stable", data=branch.stable)
            f.create_dataset("eigenvalues", data=branch.eigenvalues)
            for grp, dct in (("params", branch.params), ("outputs", branch.outputs)):
                g = f.create_group(grp)
                for k, v in dct.items():
                    g.create_dataset(k, data=np.asarray(v))
            g = f.create_group("data")
            scal, arrs = _split_data(branch.data)
            g.attrs["scalars"] = _json(scal)
            for k, v in arrs.items():
                g.create_dataset(k, data=v)
            g = f.create_group("special_points")
            for i, sp in enumerate(branch.special_points):
                h = g.create_group(str(i))
                h.attrs["kind"] = sp.kind
                h.attrs["index"] = int(sp.index)
                h.attrs["params"] = _json(sp.params)
                scal, arrs = _split_data(sp.data)
                h.attrs["scalars"] = _json(scal)
                h.create_dataset("x", data=np.asarray(sp.x, float))
                dg = h.create_group("data")
                for k, v in arrs.items():
                    dg.create_dataset(k, data=v)
            ends = [{"reason": e.reason, "index": int(e.index), "params": e.params,
                     "message": e.message} for e in branch.endpoints]
            g = f.create_group("endpoints")
            g.attrs["list"] = _json(ends)
            for i, e in enumerate(branch.endpoints):
                g.create_dataset(str(i), data=np.asarray(e.x, float))
            if isinstance(branch, CycleBranch):
                c = f.create_group("cycle")
                for k in ("periods", "multipliers", "state_min", "state_max", "amplitude"):
                    c.create_dataset(k, data=getattr(branch, k))
                orbits = getattr(branch, "_orbits", None)
                if orbits is not None:
                    og = c.create_group("orbits")
                    for i, (t, x) in enumerate(orbits):
                        og.create_dataset(f"{i}/t", data=np.asarray(t))
                        og.create_dataset(f"{i}/x", data=np.asarray(x))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _placeholder_system(name, params, state_names, outputs):
    def rhs(x, p):
        raise RuntimeError(f"the system {name!r} of this saved branch could not be restored "
                           f"(not picklable); re-create it and attach it as branch.system")

    return ODESystem(rhs, max(len(state_names), 1), params, state_names=state_names or None,
                     outputs={k: (lambda x, p: np.nan) for k in outputs}, name=name)


def load_branch(path) -> Branch:
    """Read a branch written by :func:`save_branch`."""
    import h5py

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such branch file: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise BranchFileError(f"{path} is not a readable HDF5 file ({exc})") from None
    with f:
        a = f.attrs
        if a.get("format") != FORMAT:
            raise BranchFileError(f"{path} is not a branch file (format tag "
                                  f"{a.get('format')!r}, expected {FORMAT!r})")
        ver = int(a.get("format_version", -1))
        if ver > FORMAT_VERSION or ver < 1:
            raise BranchFileError(f"{path} has branch format version {ver}; this build reads "
                                  f"versions 1..{FORMAT_VERSION}; upgrade snnreduce")
        try:
            param = json.loads(a["param"])
            if isinstance(param, list):
                param = tuple(param)
            restored = False
            sysm = None
            if "system_pickle" in f:
                try:
                    sysm = pickle.loads(f["system_pickle"][()].tobytes())
                    restored = True
                except Exception:  # noqa: BLE001
                    sysm = None
            if sysm is None:
                sysm = _placeholder_system(str(a["system_name"]), json.loads(a["system_params"]),
                                           json.loads(a["state_names"]),
                                           json.loads(a.get("output_names", "[]")))
            params = {k: v[()] for k, v in f["params"].items()}
            outputs = {k: v[()] for k, v in f["outputs"].items()}
            data = {k: v[()] for k, v in f["data"].items()}
            data.update(json.loads(f["data"].attrs["scalars"]))
            data["system_restored"] = restored
            sps = []
            for key in sorted(f["special_points"], key=int):
                h = f["special_points"][key]
                sd = json.loads(h.attrs["scalars"])
                sd.update({k: v[()] for k, v in h["data"].items()})
                sps.append(SpecialPoint(str(h.attrs["kind"]), json.loads(h.attrs["params"]),
                                        h["x"][()], sd, index=int(h.attrs["index"])))
            ends = []
            for i, e in enumerate(json.loads(f["endpoints"].attrs["list"])):
                ends.append(Endpoint(e["reason"], e["index"], e["params"],
                                     f["endpoints"][str(i)][()], e["message"]))
            args = (str(a["kind"]), sysm, param, params, f["states"][()], f["stable"][()],
                    f["eigenvalues"][()], outputs, sps, ends, str(a["status"]),
                    str(a["message"]), json.loads(a["counts"]), data,
                    json.loads(a["settings"]))
            if str(a["class"]) == "CycleBranch" and "cycle" in f:
                c = f["cycle"]
                orbits = None
                if "orbits" in c:
                    orbits = [(c["orbits"][k]["t"][()], c["orbits"][k]["x"][()])
                              for k in sorted(c["orbits"], key=int)]
                return CycleBranch(*args, periods=c["periods"][()],
                                   multipliers=c["multipliers"][()],
                                   state_min=c["state_min"][()], state_max=c["state_max"][()],
                                   amplitude=c["amplitude"][()], orbits=orbits)
            return Branch(*args)
        except (KeyError, ValueError, TypeError) as exc:
            raise BranchFileError(f"{path} is a damaged branch file ({type(exc).__name__}: "
                                  f"{exc})") from None

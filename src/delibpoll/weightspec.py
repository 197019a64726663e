"""Weights that remember how they were made: the weighting specification sidecar.

A file of weights alone loses how the weights were made, and with it the raking-aware
standard errors: the same weights treated as fixed give larger (or smaller) SEs than the
raked design they came from. ``delibpoll weight`` therefore writes, beside its output
``weighted.sav``, a TOML file ``weighted.sav.weighting.toml`` with everything needed to
make the weights again (:class:`WeightingSpec`): the method and its options, the starting
weights' column, the targets themselves (with their SHA-256), the mapping that was applied
before weighting, and the delibpoll version. ``delibpoll table`` and ``delibpoll run`` find
it (:func:`design_for_file`), re-run the weighting from the starting weights, and use the
result only when it reproduces the file's weights within 1e-9 relative: then the design is
raking-aware as if it had never left memory. Otherwise they say so loudly (a
:class:`~delibpoll.WeightingWarning`) and treat the weights as fixed. Every table says which
it used (:attr:`FileDesign.se_note`).

The data in the weighted file are the data *after* the mapping (variables renamed,
categories recoded): the ``[mapping]`` table records the mapping for provenance and is not
applied again.

Examples
--------
>>> import pandas as pd
>>> from delibpoll import SurveyDesign, rake
>>> from delibpoll.targets import Targets
>>> df = pd.DataFrame({"sex": ["Female", "Male", "Male", "Female", "Male"]})
>>> targets = Targets.from_dict({"sex": {"Female": 0.5, "Male": 0.5}})
>>> weighted = rake(SurveyDesign(df), targets)
>>> spec = WeightingSpec.of(weighted, targets, weight_column="weight", targets_source="inline")
>>> print(spec.to_toml().splitlines()[6])
delibpoll_version = "0.1.0"
>>> back = WeightingSpec.from_toml_text(spec.to_toml())
>>> back == spec
True
>>> rebuilt = rebuild(weighted.data.assign(weight=weighted.weight_array), back)
>>> rebuilt.raking_aware, rebuilt.se_note
(True, 'raking-aware SEs')
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import warnings
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from ._types import Unmatched, UserMissing, WeightingMethod, values
from ._version import __version__
from .design import SurveyDesign
from .exceptions import DelibpollError, WeightingWarning
from .targets import Targets
from .weighting import calibrate, rake

__all__ = [
    "SIDECAR_SUFFIX",
    "FileDesign",
    "WeightingSpec",
    "design_for_file",
    "read_spec",
    "rebuild",
    "sidecar_path",
    "write_spec",
]

#: What is appended to a data file's name for its specification.
SIDECAR_SUFFIX = ".weighting.toml"
FORMAT = "delibpoll-weighting-spec"
SPEC_VERSION = 1
#: Largest relative difference between re-made and recorded weights accepted as "the same".
RTOL = 1e-9


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _targets_csv(targets: Targets) -> str:
    frame = targets.to_frame()[["variable", "category", "target"]]
    return str(frame.to_csv(index=False, float_format="%.17g", lineterminator="\n"))


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(type(v).__name__)


def _toml_multiline(text: str) -> str:
    """A TOML multi-line basic string holding ``text`` exactly (readable in the file)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\n\t" or ord(ch) >= 0x20 and ord(ch) != 0x7F:
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}")
    return '"""\n' + "".join(out) + '"""'  # the newline after the opening quotes is dropped


@dataclass(frozen=True, kw_only=True)
class WeightingSpec:
    """How a weight column was made: enough to make it again.

    Attributes
    ----------
    weight_column : str
        The column holding the weights in the data file.
    method : {"rake", "linear", "raking", "logit"}
        :func:`~delibpoll.rake`, or :func:`~delibpoll.calibrate` with this distance.
    variables : tuple of str
        The margins, in order.
    targets_source : str
        ``"england"`` (the bundled ONS margins) or the targets file as given.
    targets_csv : str
        The targets used, as the CSV :meth:`Targets.from_csv` reads (shares to 17 digits).
    start_weights : str or None
        Column of the starting weights (None: all 1).
    cap, bounds, unmatched, max_iter, tol
        The options of the weighting call.
    mapping_source, mapping_toml : str or None
        The mapping applied to the data before weighting (file name and text).
    user_missing : {"missing", "keep"}
        How user-missing codes were read.
    data_rows : int
        Rows weighted.
    delibpoll_version : str
    """

    weight_column: str
    method: WeightingMethod
    variables: tuple[str, ...]
    targets_source: str
    targets_csv: str
    start_weights: str | None = None
    cap: float | None = None
    bounds: tuple[float, float] | None = None
    unmatched: Unmatched = "error"
    max_iter: int = 1000
    tol: float = 1e-10
    mapping_source: str | None = None
    mapping_toml: str | None = None
    user_missing: UserMissing = "missing"
    data_rows: int = 0
    delibpoll_version: str = __version__

    @property
    def targets_sha256(self) -> str:
        """SHA-256 of :attr:`targets_csv`."""
        return _sha256(self.targets_csv)

    @classmethod
    def of(
        cls,
        design: SurveyDesign,
        targets: Targets,
        *,
        weight_column: str,
        targets_source: str,
        start_weights: str | None = None,
        method: WeightingMethod = "rake",
        cap: float | None = None,
        bounds: tuple[float, float] | None = None,
        unmatched: Unmatched = "error",
        mapping_source: str | None = None,
        mapping_toml: str | None = None,
        user_missing: UserMissing = "missing",
    ) -> WeightingSpec:
        """The specification of a weighted design made with these arguments."""
        return cls(
            weight_column=weight_column, method=method,
            variables=tuple(str(v) if isinstance(v, str) else "|".join(v) for v in targets.variables),
            targets_source=targets_source, targets_csv=_targets_csv(targets),
            start_weights=start_weights, cap=cap, bounds=bounds, unmatched=unmatched,
            mapping_source=mapping_source, mapping_toml=mapping_toml,
            user_missing=user_missing, data_rows=design.n,
        )

    # ------------------------------------------------------------------ TOML
    def to_toml(self) -> str:
        """The sidecar text (the format is documented in docs/cli.md)."""
        top: list[tuple[str, Any]] = [
            ("format", FORMAT), ("spec_version", SPEC_VERSION),
            ("delibpoll_version", self.delibpoll_version), ("weight_column", self.weight_column),
            ("start_weights", self.start_weights), ("method", self.method),
            ("variables", list(self.variables)), ("user_missing", self.user_missing),
            ("data_rows", self.data_rows),
        ]
        options: list[tuple[str, Any]] = [
            ("cap", self.cap), ("bounds", None if self.bounds is None else list(self.bounds)),
            ("unmatched", self.unmatched), ("max_iter", self.max_iter), ("tol", self.tol),
        ]
        lines = [
            "# How the weights in this data file were made: delibpoll weighting specification.",
            "# `delibpoll table` and `delibpoll run` read it to rebuild the raking-aware design;",
            "# the data in the file are already mapped ([mapping] is a record, not re-applied).",
            "",
        ]
        lines += [f"{k} = {_toml_value(v)}" for k, v in top if v is not None]
        lines += ["", "[options]"] + [f"{k} = {_toml_value(v)}" for k, v in options if v is not None]
        lines += ["", "[targets]", f"source = {_toml_value(self.targets_source)}",
                  f'sha256 = "{self.targets_sha256}"', f"csv = {_toml_multiline(self.targets_csv)}"]
        if self.mapping_toml is not None:
            lines += ["", "[mapping]", f"source = {_toml_value(self.mapping_source or '')}",
                      f'sha256 = "{_sha256(self.mapping_toml)}"',
                      f"toml = {_toml_multiline(self.mapping_toml)}"]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml_text(cls, text: str, *, source: str = "the weighting specification") -> WeightingSpec:
        """Parse a sidecar; every problem in one :class:`~delibpoll.DelibpollError`."""
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DelibpollError(f"{source} is not valid TOML: {exc}.") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: AbcMapping[str, Any], *, source: str = "the weighting specification") -> WeightingSpec:
        """A specification from the parsed sidecar."""
        problems: list[str] = []
        if data.get("format") != FORMAT:
            problems.append(f"format must be {FORMAT!r}; got {data.get('format')!r}")
        if data.get("spec_version") != SPEC_VERSION:
            problems.append(f"spec_version {data.get('spec_version')!r} is not {SPEC_VERSION} "
                            "(written by another delibpoll version?)")
        opts = data.get("options", {})
        tg = data.get("targets", {})
        mp = data.get("mapping")
        if not isinstance(opts, dict) or not isinstance(tg, dict) or not (mp is None or isinstance(mp, dict)):
            problems.append("[options], [targets] and [mapping] must be tables")
            opts, tg, mp = {}, {}, None
        for key in ("weight_column", "method", "variables"):
            if key not in data:
                problems.append(f"the key {key!r} is missing")
        if "csv" not in tg:
            problems.append("[targets] csv is missing")
        elif "sha256" in tg and _sha256(str(tg["csv"])) != tg["sha256"]:
            problems.append("[targets] csv does not match its sha256 (the file was edited)")
        method = data.get("method")
        if method is not None and method not in values(WeightingMethod):
            problems.append(f"method must be one of {list(values(WeightingMethod))}; got {method!r}")
        if problems:
            raise DelibpollError(f"{source[:1].upper()}{source[1:]} is not valid: " + "; ".join(problems)
                                 + ". Weight the data again with `delibpoll weight` to rewrite it.")
        bounds = opts.get("bounds")
        return cls(
            weight_column=str(data["weight_column"]), method=cast(WeightingMethod, method),
            variables=tuple(str(v) for v in data["variables"]),
            targets_source=str(tg.get("source", "")), targets_csv=str(tg["csv"]),
            start_weights=data.get("start_weights"), cap=opts.get("cap"),
            bounds=None if bounds is None else (float(bounds[0]), float(bounds[1])),
            unmatched=cast(Unmatched, opts.get("unmatched", "error")),
            max_iter=int(opts.get("max_iter", 1000)), tol=float(opts.get("tol", 1e-10)),
            mapping_source=None if mp is None else mp.get("source"),
            mapping_toml=None if mp is None else mp.get("toml"),
            user_missing=cast(UserMissing, data.get("user_missing", "missing")),
            data_rows=int(data.get("data_rows", 0)),
            delibpoll_version=str(data.get("delibpoll_version", "")),
        )

    # ------------------------------------------------------------------ weighting again
    def targets(self) -> Targets:
        """The targets recorded in the specification."""
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "targets.csv"
            path.write_text(self.targets_csv, encoding="utf-8")
            return Targets.from_csv(path)

    def weigh(self, df: pd.DataFrame) -> SurveyDesign:
        """Weight ``df`` again as recorded (from its starting weights)."""
        start = SurveyDesign(df, weights=self.start_weights)
        targets = self.targets()
        if self.method == "rake":
            return rake(start, targets, cap=self.cap, unmatched=self.unmatched,
                        max_iter=self.max_iter, tol=self.tol)
        return calibrate(start, targets, method=self.method, bounds=self.bounds,
                         unmatched=self.unmatched, max_iter=self.max_iter, tol=self.tol)


def sidecar_path(data_path: str | Path) -> Path:
    """``weighted.sav`` -> ``weighted.sav.weighting.toml``."""
    p = Path(data_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def write_spec(spec: WeightingSpec, data_path: str | Path) -> Path:
    """Write the sidecar of ``data_path``; returns its path."""
    path = sidecar_path(data_path)
    path.write_text(spec.to_toml(), encoding="utf-8")
    return path


def read_spec(data_path: str | Path) -> WeightingSpec | None:
    """The specification beside ``data_path``, or None when there is none."""
    path = sidecar_path(data_path)
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DelibpollError(f"The weighting specification '{path}' cannot be read ({exc}).") from None
    return WeightingSpec.from_toml_text(text, source=f"the weighting specification '{path}'")


@dataclass(frozen=True)
class FileDesign:
    """The design of a data file and what its standard errors account for.

    Attributes
    ----------
    design : SurveyDesign
    weights : str or None
        The weight column used (None: unweighted).
    raking_aware : bool
        The weighting was re-made and matched: the SEs account for it.
    spec : WeightingSpec or None
    max_relative_difference : float
        Between the re-made and the file's weights (NaN when not re-made).
    reason : str
        Why the SEs are (not) raking-aware, one sentence.
    """

    design: SurveyDesign
    weights: str | None
    raking_aware: bool
    spec: WeightingSpec | None
    max_relative_difference: float
    reason: str

    @property
    def se_note(self) -> str:
        """``"raking-aware SEs"``, ``"calibration-aware SEs"``, ``"SEs treat the weights as
        fixed"`` or ``"UNWEIGHTED"``."""
        if self.weights is None:
            return "UNWEIGHTED"
        if self.raking_aware:
            return "raking-aware SEs" if self.spec is None or self.spec.method == "rake" else "calibration-aware SEs"
        return "SEs treat the weights as fixed"

    @property
    def note(self) -> str:
        """A sentence for a table's notes."""
        if self.weights is None:
            return ("UNWEIGHTED: no weight column was given and the file has no weighting "
                    "specification; percentages are of the sample, not of the population.")
        return f"Weights: column '{self.weights}'; {self.se_note}: {self.reason}"


def rebuild(df: pd.DataFrame, spec: WeightingSpec, *, rtol: float = RTOL) -> FileDesign:
    """Re-make the weights of ``df`` as ``spec`` says and check them against its column.

    Parameters
    ----------
    df : pandas.DataFrame
        The weighted data (as read from the file).
    spec : WeightingSpec
    rtol : float, default 1e-9
        Largest accepted relative difference between re-made and recorded weights.

    Returns
    -------
    FileDesign
        Raking-aware when the weights match; else the recorded weights as fixed weights,
        with a :class:`~delibpoll.WeightingWarning` saying why.
    """
    col = spec.weight_column
    if col not in df.columns:
        raise DelibpollError(
            f"The weighting specification names the weight column '{col}', which is not a "
            f"column of the data; give the weight column with --weights, or weight again."
        )
    recorded = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    why = ""
    diff = math.nan
    remade: SurveyDesign | None = None
    if spec.start_weights is not None and spec.start_weights not in df.columns:
        why = f"the starting-weight column '{spec.start_weights}' is not in the data"
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", WeightingWarning)  # said when it was weighted
                remade = spec.weigh(df)
        except DelibpollError as exc:
            why = f"weighting again failed ({' '.join(str(exc).split())[:300]})"
        if remade is not None:
            w = remade.weight_array
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.abs(w - recorded) / np.abs(recorded)
            diff = float(np.nanmax(rel)) if len(rel) and not np.isnan(recorded).any() else math.inf
            if not diff <= rtol:
                why = (f"weighting again from the recorded specification gives weights that "
                       f"differ from column '{col}' by up to {diff:.3g} (relative; more than "
                       f"{rtol:g}): the data or the weights changed after weighting")
    if remade is not None and not why:
        return FileDesign(design=remade, weights=col, raking_aware=True, spec=spec,
                          max_relative_difference=diff,
                          reason=(f"the weighting ({spec.method} to {', '.join(spec.variables)}) "
                                  f"was re-made from the recorded specification and matches "
                                  f"the file's weights (largest relative difference {diff:.1e})."))
    warnings.warn(
        f"THE STANDARD ERRORS TREAT THE WEIGHTS AS FIXED: {why}. They do not account for "
        "the raking and are usually too large (or too small); weight the data again with "
        "`delibpoll weight` to get raking-aware SEs.",
        WeightingWarning, stacklevel=2,
    )
    return FileDesign(design=SurveyDesign(df, weights=col), weights=col, raking_aware=False,
                      spec=spec, max_relative_difference=diff, reason=why + ".")


def design_for_file(df: pd.DataFrame, path: str | Path, *, weights: str | None = None) -> FileDesign:
    """The design of the data read from ``path``: raking-aware when a weighting
    specification lies beside it, else the given weight column as fixed weights, else
    unweighted.

    Parameters
    ----------
    df : pandas.DataFrame
        The data read from ``path``.
    path : path
        The data file (its sidecar is ``path + ".weighting.toml"``).
    weights : str, optional
        The weight column; by default the one the specification records.
    """
    spec = read_spec(path)
    if spec is not None and weights in (None, spec.weight_column):
        return rebuild(df, spec)
    if weights is None:
        return FileDesign(design=SurveyDesign(df), weights=None, raking_aware=False, spec=None,
                          max_relative_difference=math.nan, reason="no weight column")
    why = (f"the weighting specification beside the file is for column '{spec.weight_column}', "
           f"not '{weights}'" if spec is not None else
           f"there is no weighting specification ({sidecar_path(path).name}) beside the file, "
           "so how the weights were made is unknown")
    return FileDesign(design=SurveyDesign(df, weights=weights), weights=weights,
                      raking_aware=False, spec=None, max_relative_difference=math.nan,
                      reason=why + ".")

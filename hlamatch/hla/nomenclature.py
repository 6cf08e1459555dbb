"""HLA nomenclature from the official WHO/WMDA files: serology, broads, G/P groups, valid names.

hlamatch ships none of these files (their licence asks that they are not mirrored): the user
points it at a folder holding them as downloaded from IPD-IMGT/HLA — ``--nomenclature DIR``,
:func:`use_nomenclature`, or the ``HLAMATCH_NOMENCLATURE`` environment variable.  The folder holds
``rel_dna_ser.txt``, ``rel_ser_ser.txt``, ``hla_nom_g.txt``, ``hla_nom_p.txt`` and
``Allelelist.txt`` (directly, or the first four in its ``wmda/`` subfolder, as in the IMGTHLA
repository).  Each file is read on first need, so ``--help`` and two-field work read none.

The rules (documented in the README, tested against hand-checked entries):

* **antigen** (serologic split level): an allele's antigen is its ``rel_dna_ser`` serology —
  Unambiguous, else Possible when it names one antigen, else Assumed, else Expert, else the first
  Possible antigen.  In a field naming several values the first *antigen* is taken, and ``0``
  (null) is not an antigen: an L or Q allele with Possible ``0/24`` gives ``A24``, not null.  A name with
  fewer fields (``A*24:02``) takes the value of the first allele in the file that carries those
  fields and the same expression suffix.  ``0`` = null (not expressed): the label
  :data:`NULL_LABEL` (``A-null``) that never matches and is never a mismatch.  ``?`` with nothing
  else: the locus prefix and first field (``C*12:02`` → ``Cw12``), as NMDP antigen tables write
  such alleles.  Labels as those tables write them: ``A24``, ``Cw7``, ``B52``, ``DR15``, ``DQ6``;
  associated antigens stay distinct (``A2403``, ``B3901``, ``DR103``).  Loci: A, B, C, DRB1 → DR,
  DQB1 → DQ.  A one-field name (``B*15``) does not determine an antigen and is an error.
* **broad**: an associated antigen folds into its parent, a split into its broad
  (``B3901`` → ``B39`` → ``B16``, ``A24`` → ``A9``, ``DR17`` → ``DR3``), from ``rel_ser_ser.txt``.
* **G** and **P** groups: the group of the first allele (in ``hla_nom_g.txt`` / ``hla_nom_p.txt``)
  carrying the name's fields; an allele outside any group stays itself.  Null alleles stay null
  (their own two-field name) at every resolution.
* **validation**: a molecular name is known when, without its expression suffix, it is a
  field prefix of an ``Allelelist.txt`` allele; group names must be groups of the G/P files;
  antigen labels must be antigens the serology files name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from hlamatch._cache import cached as _cached
from hlamatch._cache import identity as _identity
from hlamatch._cache import json_str_dict, json_str_list, open_regular, read_limited
from hlamatch._settings import current, set_defaults
from hlamatch.errors import HlamatchError

__all__ = [
    "ENV",
    "FILES",
    "NULL_LABEL",
    "SEROLOGY_PREFIX",
    "NomenclatureError",
    "Nomenclature",
    "use_nomenclature",
    "current_nomenclature",
    "MacCodes",
    "read_mac_file",
    "is_null_label",
    "use_mac_file",
    "current_mac",
    "MAX_FILE_BYTES",
]

#: Environment variable naming the nomenclature folder.
ENV = "HLAMATCH_NOMENCLATURE"
#: The files, by role.
FILES = {
    "serology": "rel_dna_ser.txt",
    "broads": "rel_ser_ser.txt",
    "G": "hla_nom_g.txt",
    "P": "hla_nom_p.txt",
    "alleles": "Allelelist.txt",
}
#: Molecular locus → serologic label prefix; the only loci with antigens.
SEROLOGY_PREFIX = {"A": "A", "B": "B", "C": "Cw", "DRB1": "DR", "DQB1": "DQ"}
#: Antigen-level locus of each molecular locus (the NMDP antigen tables' column names).
ANTIGEN_LOCUS = {"A": "A", "B": "B", "C": "C", "DRB1": "DR", "DQB1": "DQ"}
#: How a null allele (serology ``0``) is written at antigen and broad level: ``A-null``.
NULL_LABEL = "{prefix}-null"
#: The largest nomenclature or MAC file read (the official ones are a few MiB).
MAX_FILE_BYTES = 64 * 2**20
#: An antigen number of a serology file: ``24``, ``2403``, ``0`` (null).
_NUMBER = re.compile(r"[0-9]{1,5}")

_HOW = (
    "point hlamatch at the IPD-IMGT/HLA nomenclature files: --nomenclature DIR (a folder holding "
    "rel_dna_ser.txt, rel_ser_ser.txt, hla_nom_g.txt, hla_nom_p.txt and Allelelist.txt, as "
    "downloaded from IPD-IMGT/HLA or its IMGTHLA repository) or set HLAMATCH_NOMENCLATURE to it"
)
_EXPR = re.compile(r"[NLSCAQ]$")


class NomenclatureError(HlamatchError):
    """The nomenclature files are missing or unreadable, or a name cannot be mapped through them."""


def is_null_label(name: str) -> bool:
    """True for the antigen-level null label (``A-null``)."""
    return name.endswith("-null")


def _read_text(path: Path, what: str, kind: str = "nomenclature file", how: str | None = _HOW) -> str:
    """The text of a regular file of at most :data:`MAX_FILE_BYTES` (a FIFO, a device or a folder is
    refused before anything is read from it)."""
    try:
        with open_regular(path) as fh:
            data = read_limited(fh, MAX_FILE_BYTES)
    except FileNotFoundError as e:
        if how is None:
            raise NomenclatureError(f"cannot read {kind} {path}: {e}") from None
        raise NomenclatureError(f"{kind} {path} is missing ({what}); {how}") from None
    except ValueError:
        raise NomenclatureError(
            f"{kind} {path} is not a regular file (a folder, a device or a pipe?); give the path of the "
            f"downloaded text file ({what})"
        ) from None
    except OSError as e:
        raise NomenclatureError(f"cannot read {kind} {path}: {e}" + (f"; {how}" if how else "")) from None
    if data is None:
        raise NomenclatureError(
            f"{kind} {path} is larger than {MAX_FILE_BYTES // 2**20} MiB, the limit for such a file "
            f"({what}); give the file as downloaded from IPD-IMGT/HLA"
        )
    try:
        return data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise NomenclatureError(
            f"cannot read {kind} {path}: line {line} is not UTF-8 text"
            + (f"; {how}" if how else "; save it as UTF-8 text")
        ) from None


def _comments_and_rows(path: Path, what: str) -> tuple[str | None, list[tuple[int, str]]]:
    """The release named in ``# version:`` and the data lines (with their line numbers) of a WMDA file."""
    text = _read_text(path, what)
    release = None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            if line.startswith("# version:"):
                release = line.split(":", 1)[1].strip()
            continue
        if line.strip():
            rows.append((number, line))
    if not rows:
        raise NomenclatureError(f"nomenclature file {path} holds no entries ({what}); {_HOW}")
    return release, rows


def _number(value: str, path: Path, line: int, field: str, expected: str) -> int:
    """An antigen or field number of a WMDA row; a NomenclatureError naming file, line and field if not one."""
    value = value.strip()
    if not _NUMBER.fullmatch(value):
        raise NomenclatureError(
            f"nomenclature file {path} line {line}: field {field} holds {value[:40]!r}, not a number "
            f"({expected}); the file is damaged: download it again from IPD-IMGT/HLA"
        )
    return int(value)


def _split_name(full: str) -> tuple[str, list[str], str]:
    """``A*01:01:01:02N`` → (``A``, [``01``, ``01``, ``01``, ``02``], ``N``)."""
    gene, rest = full.split("*", 1)
    m = _EXPR.search(rest)
    expr = m.group(0) if m else ""
    return gene, (rest[: -len(expr)] if expr else rest).split(":"), expr


def _prefix_keys(gene: str, fields: list[str], expr: str, shortest: int = 2) -> list[str]:
    """Names of the allele at every field count from ``shortest`` up (suffix kept), longest last."""
    return [f"{gene}*{':'.join(fields[:k])}{expr}" for k in range(shortest, len(fields) + 1)]


@dataclass(eq=False)
class Nomenclature:
    """The WMDA nomenclature files of one folder, parsed on first need.

    Attributes
    ----------
    directory : pathlib.Path
    """

    directory: Path
    _release: str | None = field(default=None, repr=False)

    @classmethod
    def open(cls, directory: str | Path, origin: str = "--nomenclature") -> Nomenclature:
        """Check that ``directory`` exists and holds the files (read later, on first need).

        Raises
        ------
        NomenclatureError
            Not a folder, or no ``rel_dna_ser.txt`` in it or its ``wmda/`` subfolder.
        """
        d = Path(directory).expanduser()
        if not d.is_dir():
            raise NomenclatureError(f"nomenclature folder {d} (from {origin}) is not a folder; {_HOW}")
        nom = cls(d)
        if not nom.path("serology").exists() and not nom.path("alleles").exists():
            raise NomenclatureError(
                f"nomenclature folder {d} (from {origin}) holds neither rel_dna_ser.txt nor Allelelist.txt; {_HOW}"
            )
        return nom

    def path(self, role: str) -> Path:
        """The file of ``role`` (``serology``, ``broads``, ``G``, ``P``, ``alleles``)."""
        name = FILES[role]
        direct = self.directory / name
        if direct.exists() or role == "alleles":
            return direct
        wmda = self.directory / "wmda" / name
        return wmda if wmda.exists() else direct

    @property
    def release(self) -> str:
        """The release the files name (``IPD-IMGT/HLA 3.58.0``), from the first file read."""
        if self._release is None:
            for role in ("serology", "alleles", "G", "P", "broads"):
                p = self.path(role)
                if p.exists():
                    try:
                        with open_regular(p) as fh:  # a FIFO or a device is not read (nor waited on)
                            head = fh.read(2**16).decode("utf-8", errors="replace")
                            for line in head.splitlines()[:20]:
                                if line.startswith("# version:"):
                                    self._release = line.split(":", 1)[1].strip()
                                    return self._release
                    except (OSError, ValueError):
                        continue
            self._release = f"unknown release ({self.directory.name})"
        return self._release

    def identity(self) -> str | None:
        """The release and the content fingerprint of each file (what a cached table built with
        these files is keyed by); None when a file exists but cannot be fingerprinted."""
        parts = [self.release]
        for role in FILES:
            p = self.path(role)
            found = _identity(p) if p.exists() else "absent"
            if found is None:
                return None
            parts.append(f"{role}={found}")
        return "|".join(parts)

    # ------------------------------------------------------------------ serology
    @cached_property
    def _serology(self) -> tuple[dict[str, str], set[str]]:
        """Name (every field count ≥ 2, suffix kept) → antigen label; and every label named."""
        return _cached(
            "nomenclature-serology",
            [_identity(self.path("serology"))],
            self._read_serology,
            lambda v: ({"names": v[0], "labels": sorted(v[1])}, {}),
            lambda m, a: (json_str_dict(m["names"]), set(json_str_list(m["labels"]))),
        )

    def _read_serology(self) -> tuple[dict[str, str], set[str]]:
        _, rows = _comments_and_rows(self.path("serology"), "allele → serology")
        out: dict[str, str] = {}
        labels: set[str] = set()
        path = self.path("serology")
        for number, row in rows:
            parts = row.split(";")
            if len(parts) < 6:
                raise NomenclatureError(
                    f"nomenclature file {path} line {number}: {row[:80]!r} has {len(parts)} fields, "
                    "expected 'Locus*;Allele;Unambiguous;Possible;Assumed;Expert'"
                )
            gene = parts[0].rstrip("*")
            prefix = SEROLOGY_PREFIX.get(gene)
            if prefix is None:
                continue
            _, fields, expr = _split_name(f"{gene}*{parts[1]}")
            value = _pick_serology(parts[2].strip(), parts[3].strip(), parts[4].strip(), parts[5].strip())
            if value is None or value == "?":
                label = (
                    f"{prefix}{_number(fields[0], path, number, '2 (Allele)', 'an allele name such as 01:01:01:01')}"
                )
            elif value == "0":
                label = NULL_LABEL.format(prefix=prefix)
            else:
                label = f"{prefix}{_number(value, path, number, '3 to 6 (serology)', 'antigens such as 24 or 0/24')}"
            labels.add(label)
            for column, field_value in enumerate(parts[2:6], start=3):  # every antigen any column names is a real label
                for named in field_value.split("/"):
                    if named.strip() not in ("", "?"):
                        n = _number(named, path, number, f"{column} (serology)", "antigens such as 24 or 0/24, or ?")
                        if n:
                            labels.add(f"{prefix}{n}")
            for key in _prefix_keys(gene, fields, expr):
                out.setdefault(key, label)
        return out, labels

    @cached_property
    def _broads(self) -> tuple[dict[str, str], dict[str, str]]:
        """(split → broad, associated → parent) from ``rel_ser_ser.txt``."""
        return _cached(
            "nomenclature-broads",
            [_identity(self.path("broads"))],
            self._read_broads,
            lambda v: ({"splits": v[0], "associated": v[1]}, {}),
            lambda m, a: (json_str_dict(m["splits"]), json_str_dict(m["associated"])),
        )

    def _read_broads(self) -> tuple[dict[str, str], dict[str, str]]:
        _, rows = _comments_and_rows(self.path("broads"), "broad and split antigens")
        split_of: dict[str, str] = {}
        assoc_of: dict[str, str] = {}
        path = self.path("broads")
        for number, row in rows:
            parts = row.split(";")
            if len(parts) < 4:
                raise NomenclatureError(
                    f"nomenclature file {path} line {number}: {row[:80]!r} has {len(parts)} fields, "
                    "expected 'Locus;Broad;Splits;Associated'"
                )
            prefix = parts[0].strip()
            if prefix not in SEROLOGY_PREFIX.values():
                continue  # Dw: cellular, not serologic
            parent = f"{prefix}{_number(parts[1], path, number, '2 (Broad)', 'an antigen such as 9')}"
            for s in filter(None, parts[2].strip().split("/")):
                split_of[f"{prefix}{_number(s, path, number, '3 (Splits)', 'antigens such as 23/24')}"] = parent
            for a in filter(None, parts[3].strip().split("/")):
                assoc_of[f"{prefix}{_number(a, path, number, '4 (Associated)', 'antigens such as 2403')}"] = parent
        return split_of, assoc_of

    @cached_property
    def antigen_labels(self) -> frozenset[str]:
        """Every antigen label the serology files name (splits, broads, associated antigens)."""
        split_of, assoc_of = self._broads
        return frozenset(
            self._serology[1] | set(split_of) | set(split_of.values()) | set(assoc_of) | set(assoc_of.values())
        )

    def antigen(self, name: str) -> str | None:
        """The antigen label of a molecular name of at least two fields, or None if unknown.

        A null allele gives the null label (``A-null``).
        """
        return self._serology[0].get(name)

    def broad(self, label: str) -> str:
        """The broad antigen of an antigen label (itself when it is neither a split nor associated)."""
        split_of, assoc_of = self._broads
        parent = assoc_of.get(label, label)
        return split_of.get(parent, parent)

    # ------------------------------------------------------------------ G and P groups
    def _groups(self, kind: str) -> tuple[dict[str, str], dict[str, str]]:
        """(name at every field count ≥ 2 → group name or itself, group → its first allele)."""
        memo = self.__dict__.setdefault("_group_memo", {})
        if kind not in memo:
            memo[kind] = _cached(
                f"nomenclature-{kind}",
                [_identity(self.path(kind))],
                lambda: self._read_groups(kind),
                lambda v: ({"groups": v[0], "first": v[1]}, {}),
                lambda m, a: (json_str_dict(m["groups"]), json_str_dict(m["first"])),
            )
        return memo[kind]

    def _read_groups(self, kind: str) -> tuple[dict[str, str], dict[str, str]]:
        _, rows = _comments_and_rows(self.path(kind), f"{kind} groups")
        to_group: dict[str, str] = {}
        first: dict[str, str] = {}
        for number, row in rows:
            parts = row.split(";")
            if len(parts) < 3:
                raise NomenclatureError(
                    f"nomenclature file {self.path(kind)} line {number}: {row[:80]!r} has {len(parts)} fields, "
                    f"expected 'Locus*;Alleles;{kind} group'"
                )
            gene = parts[0].rstrip("*")
            group = f"{gene}*{parts[2].strip()}" if parts[2].strip() else None
            for a in filter(None, parts[1].strip().split("/")):
                _, fields, expr = _split_name(f"{gene}*{a}")
                if group is not None:
                    first.setdefault(group, f"{gene}*{a}")
                for key in _prefix_keys(gene, fields, expr):
                    to_group.setdefault(key, group if group is not None else key)
        return to_group, first

    def group(self, name: str, kind: str) -> str | None:
        """The ``kind`` (``G`` or ``P``) group of a molecular name, itself outside any, None if unknown."""
        return self._groups(kind)[0].get(name)

    def group_members(self, kind: str) -> dict[str, str]:
        """Group name → its first allele (the allele whose serology the group takes)."""
        return self._groups(kind)[1]

    # ------------------------------------------------------------------ validation
    @cached_property
    def _known(self) -> frozenset[str]:
        """Every field prefix (without expression suffix) of every allele in ``Allelelist.txt``."""
        return _cached(
            "nomenclature-alleles",
            [_identity(self.path("alleles"))],
            self._read_known,
            lambda v: ({"known": sorted(v)}, {}),
            lambda m, a: frozenset(json_str_list(m["known"])),
        )

    def _read_known(self) -> frozenset[str]:
        _, rows = _comments_and_rows(self.path("alleles"), "the list of named alleles")
        out: set[str] = set()
        for number, row in rows:
            if row.startswith("AlleleID"):
                continue
            parts = row.split(",")
            if len(parts) < 2 or "*" not in parts[1]:
                raise NomenclatureError(
                    f"nomenclature file {self.path('alleles')} line {number}: {row[:80]!r} is not 'AlleleID,Allele'"
                )
            gene, fields, _ = _split_name(parts[1].strip())
            for k in range(1, len(fields) + 1):
                out.add(f"{gene}*{':'.join(fields[:k])}")
        return frozenset(out)

    def known(self, name: str) -> bool:
        """True if ``name`` (normalised) is an allele, allele prefix, group or antigen of the release."""
        if name.startswith("DRBX"):
            return True
        if "*" not in name:
            return is_null_label(name) or name in self.antigen_labels
        if name.endswith("G") or name.endswith("P"):
            return name in self.group_members(name[-1])
        gene, fields, _ = _split_name(name)
        return f"{gene}*{':'.join(fields)}" in self._known


def _first_antigen(field: str) -> str:
    """The first antigen a field names: ``0`` (null) is not an antigen, so ``0/24`` gives ``24``;
    a field naming only ``0`` gives ``0``."""
    values = [v for v in field.split("/") if v]
    return next((v for v in values if v != "0"), values[0] if values else "")


def _pick_serology(unamb: str, possible: str, assumed: str, expert: str) -> str | None:
    """The one serologic value of a ``rel_dna_ser`` row (see the module docstring)."""
    if unamb and unamb != "?":
        return _first_antigen(unamb)
    ps = [p for p in possible.split("/") if p]
    if len(ps) == 1:
        return ps[0]
    if assumed:
        return _first_antigen(assumed)
    if expert:
        return _first_antigen(expert)
    if ps:
        return _first_antigen(possible)
    return "?" if unamb == "?" else None


# ---------------------------------------------------------------------- process default
# Settings ``nomenclature`` and ``mac`` of :mod:`hlamatch._settings`: set process-wide here, or for a
# block of one thread with ``hlamatch._settings.using(nomenclature=..., mac=...)``.


def use_nomenclature(
    directory: str | Path | Nomenclature | None, origin: str = "use_nomenclature"
) -> Nomenclature | None:
    """Set the nomenclature every later computation of this process uses (None: back to the default).

    The default is the folder named by ``HLAMATCH_NOMENCLATURE``, or none.  A process setting, seen
    by every thread.

    Raises
    ------
    NomenclatureError
        The folder does not exist or holds no nomenclature files.
    """
    if directory is not None and not isinstance(directory, Nomenclature):
        directory = Nomenclature.open(directory, origin=origin)
    set_defaults(nomenclature=directory)
    return directory


def current_nomenclature(needed_for: str | None = None) -> Nomenclature | None:
    """The nomenclature in use: set by :func:`use_nomenclature`, else ``HLAMATCH_NOMENCLATURE``.

    Parameters
    ----------
    needed_for : str, optional
        What needs it (``resolution antigen``): when given and none is set, raise instead of
        returning None.

    Raises
    ------
    NomenclatureError
        ``needed_for`` is given and no nomenclature is set, or the environment names a bad folder.
    """
    settings = current()
    if settings.nomenclature is not None:
        return settings.nomenclature
    env = os.environ.get(ENV, "").strip()
    if env:
        from_env = settings.nomenclature_from_env
        if from_env is None or from_env[0] != env:
            from_env = (env, Nomenclature.open(env, origin=ENV))
            set_defaults(nomenclature_from_env=from_env)
        return from_env[1]
    if needed_for is not None:
        raise NomenclatureError(f"{needed_for} needs the WMDA nomenclature files: {_HOW}")
    return None


# ---------------------------------------------------------------------- multiple-allele codes

_MAC = re.compile(r"^(?P<gene>[A-Z]{1,4}[0-9]?)\*(?P<first>[0-9]{1,4}):(?P<code>[A-Z]{2,5})$")


@dataclass(frozen=True)
class MacCodes:
    """NMDP multiple-allele codes: code → the subtypes it stands for (``AB`` → ``01/02``)."""

    source: str
    codes: dict[str, tuple[str, ...]]

    def expand(self, name: str) -> list[str] | None:
        """``A*24:AB`` → [``A*24:01``, ``A*24:02``]; None when ``name`` is not a code; raises if unknown."""
        m = _MAC.match(name.strip().removeprefix("HLA-"))
        if m is None:
            return None
        subtypes = self.codes.get(m.group("code"))
        if subtypes is None:
            raise NomenclatureError(
                f"multiple-allele code {m.group('code')!r} of {name!r} is not in MAC file {self.source}"
            )
        gene, first = m.group("gene"), m.group("first")
        return [f"{gene}*{s}" if ":" in s else f"{gene}*{first}:{s}" for s in subtypes]


def use_mac_file(path: str | Path | MacCodes | None) -> MacCodes | None:
    """Expand NMDP multiple-allele codes with this file from now on in this process (None: stop).

    A process setting, seen by every thread.

    Raises
    ------
    NomenclatureError
        The file cannot be read or is not in the ``numer.v3.txt`` format.
    """
    mac = path if path is None or isinstance(path, MacCodes) else read_mac_file(path)
    set_defaults(mac=mac)
    return mac


def current_mac(name: str) -> MacCodes:
    """The MAC file in use, to expand ``name``.

    Raises
    ------
    NomenclatureError
        None is in use: the message says how to give one.
    """
    mac = current().mac
    if mac is None:
        raise NomenclatureError(
            f"{name} is an NMDP multiple-allele code: give the NMDP code list to expand it with --mac FILE "
            "(the numer.v3.txt file, or hlamatch.use_mac_file in Python), or write the alleles out"
        )
    return mac


def read_mac_file(path: str | Path) -> MacCodes:
    """Read an NMDP MAC file in the ``numer.v3.txt`` format.

    A first line ``"LAST UPDATED: ..."``, a header ``CODE<TAB>SUBTYPE`` (optionally after ``*``),
    then one ``CODE<TAB>SUBTYPES`` line per code (a leading ``*`` marks a code whose list changed;
    it is ignored); subtypes are ``01/02`` (second fields) or ``01:01/02:01`` (whole names).

    Raises
    ------
    NomenclatureError
        Unreadable file, a malformed line (named by its number), or no codes.
    """
    p = Path(path)
    text = _read_text(p, "NMDP multiple-allele codes, numer.v3.txt", kind="MAC file", how=None)
    codes: dict[str, tuple[str, ...]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.replace("*", " ").split()
        if not parts or line.lstrip().startswith('"') or parts == ["CODE", "SUBTYPE"]:
            continue
        if (
            len(parts) != 2
            or not re.fullmatch(r"[A-Z]{2,5}", parts[0])
            or not re.fullmatch(r"[0-9]{2,4}(?::[0-9]{2,4})?(?:/[0-9]{2,4}(?::[0-9]{2,4})?)*", parts[1])
        ):
            raise NomenclatureError(
                f"MAC file {p} line {number}: {line.strip()!r} is not 'CODE<TAB>SUBTYPES' "
                "(e.g. 'AB<TAB>01/02'), the NMDP numer.v3.txt format"
            )
        codes[parts[0]] = tuple(parts[1].split("/"))
    if not codes:
        raise NomenclatureError(f"MAC file {p} holds no codes (expected the NMDP numer.v3.txt format)")
    return MacCodes(str(p), codes)

"""Typed errors and warnings of hlamatch.

Every error names the offending value and where it was found (file, row, column or
population) and says what to do.  The CLI turns any :class:`HlamatchError` into one
``Error: ...`` line and a non-zero exit status.
"""

from __future__ import annotations

__all__ = [
    "HlamatchError",
    "TableFormatError",
    "TableSchemaError",
    "AlleleNameError",
    "UnknownAlleleError",
    "UnknownLocusError",
    "FrequencyError",
    "DuplicateHaplotypeError",
    "EmptyTableError",
    "LineError",
    "TypingError",
    "OptionError",
    "HlamatchWarning",
    "MissingExtraError",
]


class HlamatchError(Exception):
    """Base class of every error hlamatch raises on purpose.

    ``params``: the names of the parameters the message names, each written in the message as the
    parameter's own name (``n_candidates``): a front end may rewrite them as its own spelling (the
    CLI writes the option's flag, ``--n-candidates``).
    """

    def __init__(self, *args: object, params: tuple[str, ...] | list[str] = ()) -> None:
        super().__init__(*args)
        self.params: tuple[str, ...] = tuple(params)


class TableFormatError(HlamatchError):
    """A file cannot be read as any supported frequency-table format."""


class TableSchemaError(HlamatchError):
    """Columns are missing, or rows disagree on the loci they hold."""


class AlleleNameError(HlamatchError):
    """An allele (or antigen) name is malformed."""


class UnknownAlleleError(AlleleNameError):
    """A well-formed allele name that the nomenclature files in use do not know (``A*99:99``)."""


class UnknownLocusError(HlamatchError):
    """A locus is not known to hlamatch, or not present in the table."""


class FrequencyError(HlamatchError):
    """A frequency is non-numeric, negative or non-finite, or a population sums above 1."""


class DuplicateHaplotypeError(HlamatchError):
    """The same haplotype is listed twice for one population."""


class EmptyTableError(HlamatchError):
    """A table (or one population of it) has no haplotype with positive frequency."""


class LineError(HlamatchError):
    """A donor line is malformed or typed at loci or resolution the computation cannot use."""


class TypingError(HlamatchError):
    """A patient typing is malformed (used by ``hlamatch match``)."""


class OptionError(HlamatchError):
    """An argument combination is invalid (e.g. an unknown population or level)."""


class HlamatchWarning(UserWarning):
    """Something was adjusted on the way (e.g. rounding excess scaled away); the message says what."""


class MissingExtraError(HlamatchError, ImportError):
    """An optional feature needs a package that is not installed; the message names the extra.

    It is also an :class:`ImportError`, so ``except ImportError`` catches it as usual.
    """

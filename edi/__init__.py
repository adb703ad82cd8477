"""edi: a HIPAA X12 EDI processor (834, 835, 837P/I/D, 5010)."""

__version__ = "0.1.0"

"""edi: a HIPAA X12 EDI processor (834, 835, 837P/I/D, 5010)."""

__version__ = "0.1.0"


def compiled() -> bool:
    """Whether the parser modules run compiled to C (mypyc) rather than as Python source.

    Looks the module up without importing it (``edi --version`` stays fast)."""
    import importlib.util

    spec = importlib.util.find_spec("edi.parsers.reader")
    origin = spec.origin if spec is not None else None
    return origin is not None and not origin.endswith(".py")

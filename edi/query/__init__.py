"""Read the store for analysts: listings, details, identifier search and reports.

Pure functions over a SQLAlchemy engine. Listings filter and sort on plain columns and
blind indexes only, so they answer from indexes without decrypting a table; only the
rows of the page shown are decrypted, and their PHI is masked (:mod:`edi.masking`)
unless the caller reveals it through a :class:`~edi.query.base.Decoder` made with
``reveal=True`` (the command line checks the role and audits the reveal first).
"""

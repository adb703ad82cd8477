"""The per-file pipeline: pull -> decrypt -> validate -> acknowledge -> parse -> store -> archive.

One module per stage (:mod:`.transfer`, :mod:`.validate`, :mod:`.acknowledge`,
:mod:`.parse`, :mod:`.store`) and two functions that run them for one file:
:func:`edi.pipeline.ingest.ingest_file` (a local file: ``edi ingest``, ``edi files
reprocess``) and :func:`edi.pipeline.exchange.exchange_file` (a partner's file, leased:
``edi pull --ingest`` and the Prefect flow). :mod:`.bootstrap` builds what they run with.
"""

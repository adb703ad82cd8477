"""A partner's exchange: pull, decrypt, validate, acknowledge, store, archive.

:mod:`edi.pipeline.transfer` holds the steps as plain functions (no Prefect import), so the
command line can run them and the Prefect flows can wrap them as tasks.
"""

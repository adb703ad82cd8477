"""The store: SQLAlchemy models and migrations, field encryption, key ring, ingest."""

"""Persistence: SQLAlchemy models, database sessions, and instance-state serialization."""

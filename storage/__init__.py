"""Storage: SQLAlchemy implementations of the core's ports."""

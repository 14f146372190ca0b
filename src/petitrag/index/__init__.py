"""The embedded SQLite index."""

"""The store: the engine (DuckDB or PostgreSQL), its schema and the tables of reference data, assessments, cycles, users and audit."""

"""Storage: the tables, the queries and the append-only records, SQLite or PostgreSQL."""

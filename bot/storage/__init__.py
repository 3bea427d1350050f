"""Storage: repositories over one SQLite file. No SQL lives outside this package."""

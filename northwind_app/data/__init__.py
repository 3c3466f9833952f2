"""Data loaders: the classic Northwind CSV import and the deterministic demo generator."""

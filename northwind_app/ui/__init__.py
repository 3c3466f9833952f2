"""Shared UI building blocks (layout, tables, formatting helpers for components)."""

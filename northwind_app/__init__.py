"""Northwind Orders: an order-management back office for Northwind Traders."""

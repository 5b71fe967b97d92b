"""Notion: an API client with our error type, markdown conversion, and the assistant's tools."""

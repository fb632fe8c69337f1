"""Shared test helpers: the scripted OpenAI-compatible server and fixtures built on it."""

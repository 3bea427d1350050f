"""Fakes of external services (Telegram Bot API, …) for the test suite."""

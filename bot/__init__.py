"""Relais: a chatbot that mobilizes campaign volunteers on Telegram and Signal."""

__version__ = "0.1.0"

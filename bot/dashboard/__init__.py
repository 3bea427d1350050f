"""The organizers' dashboard: web pages served by the Relais process itself (aiohttp).

A face like the chat and the command line: it calls the same services with the same
`Actor`, so scope, validation and audit are the chat's. It never reaches storage (a
contract in `pyproject.toml` says so). Telegram opens it as a Mini App; Signal and the
console through a one-time link.
"""

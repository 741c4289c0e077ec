"""The Telegram bot channel: spec and settings here are light to import; the channel itself
(``channel.py``) loads python-telegram-bot."""

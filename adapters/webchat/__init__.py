"""The web chat channel: a chat box on the hospital's own website (adapters/webchat/spec.py)."""

"""The WeChat Official Account (公众号) channel: spec and settings here are light to import;
the channel itself (``channel.py``) loads wechatpy."""

"""Gatewayz: an AI inference gateway speaking Hugging Face's and OpenAI's formats."""

__version__ = "0.1.0"

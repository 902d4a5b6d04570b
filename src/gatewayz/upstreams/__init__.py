"""Upstream adapters: one small class per provider kind, looked up in ``registry``."""

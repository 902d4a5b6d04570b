"""Models embedded in the process, shipped inside PyPI packages (``gatewayz[local]``)."""

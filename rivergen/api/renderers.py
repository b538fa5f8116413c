from rest_framework import renderers


class JSONRenderer(renderers.JSONRenderer):
    """DRF's JSON renderer, declaring the charset the contract names."""

    charset = "utf-8"

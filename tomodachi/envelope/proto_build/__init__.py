"""Compat import path: upstream's generated protobuf modules for the envelope (``proto_build.protobuf``)."""

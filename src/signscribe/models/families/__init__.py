"""The model families signscribe ships, one module each, named after its family (``i3d.py`` holds its
sibling ``s3d``, ``movinet.py`` and ``x3d.py`` their variants). The registry imports every module here
when it is first asked, and each registers its families with ``register_model``."""

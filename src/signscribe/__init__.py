"""signscribe: sign-language video to text."""

__version__ = "0.1.0"

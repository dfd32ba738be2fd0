"""Foundation-model clip encoders (V-JEPA 2) and the visual variants clips are encoded in."""

from signscribe.models.encoders.variants import VARIANTS, parse_variants
from signscribe.models.encoders.video_transform import VideoTransform
from signscribe.models.encoders.vjepa2 import BACKBONES, TOKENS, VJEPA2Encoder, embedding_cache, load_encoder

__all__ = [
    "BACKBONES",
    "TOKENS",
    "VARIANTS",
    "VJEPA2Encoder",
    "VideoTransform",
    "embedding_cache",
    "load_encoder",
    "parse_variants",
]

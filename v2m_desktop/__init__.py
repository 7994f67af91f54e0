"""v2m-desktop: original soundtracks for videos with the Affective Multimodal Transformer."""

__version__ = "0.1.0"

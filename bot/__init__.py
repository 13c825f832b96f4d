"""klingbot: a self-hosted Discord bot that makes videos with Kling."""

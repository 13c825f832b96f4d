"""Everything members see: wording, embeds, buttons, progress lines, and posting to Discord."""

"""What each output format's encoder accepts: its name as a show writes it and its bitrates.

Plain data at the bottom of the package, so that content validation (which checks a show's
`formats` and bitrates) and the format table (`formats.py`, which encodes with them) read one
declaration.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The constant bitrates LAME encodes (MPEG-1 layer III; kbps).
LAME_CBR_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


@dataclass(frozen=True)
class Bitrates:
    """The bitrates (kbps) a format's encoder is run at, and its defaults."""

    label: str  # the format as people read it
    lowest: int
    highest: int
    stereo: int  # default for stereo programmes
    mono: int  # default for mono programmes
    only: tuple[int, ...] = ()  # when the encoder takes only these values

    def default(self, channels: int) -> int:
        return self.stereo if channels == 2 else self.mono

    def problem(self, kbps: int) -> str | None:
        """Why `kbps` is not a bitrate of this format (None: it is)."""
        if self.only and kbps not in self.only:
            return f"{kbps} kbps is not an {self.label} bitrate; choose one of " + ", ".join(
                map(str, self.only)
            )
        if not self.lowest <= kbps <= self.highest:
            return f"{kbps} kbps is outside {self.label}'s {self.lowest}–{self.highest} kbps"
        return None


#: Every format a show can name, MP3 (the feed's enclosure) first.
BITRATES: dict[str, Bitrates] = {
    "mp3": Bitrates("MP3", 32, 320, stereo=128, mono=64, only=LAME_CBR_KBPS),
    # AAC-LC: ffmpeg's encoder is transparent for speech from about 64 kbps a channel pair
    "m4a": Bitrates("AAC", 32, 320, stereo=96, mono=64),
    # Opus: libopus' own guidance for full-band speech and music is 48–64 kbps stereo
    "opus": Bitrates("Opus", 16, 256, stereo=64, mono=32),
}

FORMAT_NAMES = tuple(BITRATES)

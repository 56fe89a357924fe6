"""Audio: probing, loudness, mastering. Everything that runs ffmpeg goes through ``audio.ffmpeg``."""

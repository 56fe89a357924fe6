"""Audio: probing, loudness, mastering. Every ffmpeg run goes through ``podcast_tools.ffmpeg``."""

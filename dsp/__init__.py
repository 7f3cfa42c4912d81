"""Signal processing: numba VAD, prosody/emotion scoring, keyword matching."""

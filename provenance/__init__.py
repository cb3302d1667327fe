"""provenance: evidence of AI generation in video and images."""

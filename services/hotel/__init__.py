"""Hotel and room photos: what /check measures beyond exposure and tilt."""

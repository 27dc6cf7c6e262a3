"""Marketplace photo rules: profiles, checks, grading signals and the scoring (pure)."""

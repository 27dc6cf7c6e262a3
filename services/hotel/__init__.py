"""Hotel listing photos: rules, signals and the gallery order."""

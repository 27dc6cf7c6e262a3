"""/gallery's engine (issue 28): slide templates as data, styles, text fitting, contrast,
icons, layout around the product's cut and the drawing of each slide. Pure PIL/numpy:
the operation (services/operations/gallery.py) cuts, checks and reads back."""

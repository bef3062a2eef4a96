"""Crewboard's look as data: stylesheets, the palette, the application icon and the .desktop file.

Not code: ui/resources.py reads these files through importlib.resources (this __init__ makes them an
installable package, so they travel with app, ui, sync and storage).
"""

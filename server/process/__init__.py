"""Process assembly: settings, building the parts, running them, workers, the demo."""

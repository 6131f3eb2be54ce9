"""Rules files: the model, its validation and the fragment directories."""

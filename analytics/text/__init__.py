"""Text: cleaning and segmentation of citizens' opinions, the dictionaries. Imports core and store."""

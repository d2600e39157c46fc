"""Import of the platforms' exports: readers, limits, mapping profiles, batches and undo, the importer. Imports the layers below (it segments opinions and counts ahead at import)."""

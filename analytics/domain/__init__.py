"""The cockpit's figures: metrics, the five indices, ranking, points, suggestions, duty, hot words, hierarchy, alerts. Imports core, store, text."""

"""Probability-of-default models (issue 5): trained on ml_features, scored back to the warehouse."""

"""Probability-of-default models: trained on ml_features, scored back to the warehouse."""

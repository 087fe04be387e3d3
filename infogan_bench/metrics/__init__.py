"""Scores: pure functions, tensors or arrays in, numbers out."""

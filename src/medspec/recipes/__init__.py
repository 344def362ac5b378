"""Recipes: the whole method, each readable top to bottom."""

"""Command-line interface ``snnreduce``."""

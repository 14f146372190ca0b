"""Answers from documents: prompt, context packing, generation, checked citations."""

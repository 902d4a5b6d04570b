"""How an OpenAI-compatible upstream serves each HF task: one small class per task.

feature-extraction -> ``/v1/embeddings``; text-to-image -> ``/v1/images/generations``;
the text-understanding tasks -> a chat completion with a task prompt and a JSON-schema
structured output, validated and converted to the HF shape.
"""

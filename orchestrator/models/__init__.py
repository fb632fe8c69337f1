"""Models: the litellm client, the embedded local model, and the scripted OpenAI-compatible server."""

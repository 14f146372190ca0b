"""Answer generation: local GGUF models (llama.cpp) and OpenAI-compatible HTTP servers."""

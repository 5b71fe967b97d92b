"""OpenAI: chat completions (OpenAILLM) and transcriptions (OpenAISTT) on the official SDK."""

"""The embedded HTTP server for the trader's GPT (FastAPI on the kernel's loop)."""

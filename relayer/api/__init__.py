"""The relayer's public HTTP + WebSocket API (aiohttp)."""

"""The off-chain venue: matching engine, intake, store, batcher, API, SDK client and CLI."""

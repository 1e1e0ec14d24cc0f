"""Encrypted keystores, signers and operator authentication."""

"""The app's dialogs: export, settings."""

"""Notifications: message types, channels, outbox and reminders."""

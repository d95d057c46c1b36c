"""Reminders: the outbox of due emails, the Celery tasks that send them, and their rules."""
